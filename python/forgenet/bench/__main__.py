import sys

from forgenet.bench.cli import main

sys.exit(main())
