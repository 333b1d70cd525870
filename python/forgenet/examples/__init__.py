"""Runnable examples: `python -m forgenet.examples.<name> --help`."""
