"""Small utilities: seeding, and the random generator every part of forgenet draws from."""
from forgenet.utils.random import get_rng, set_random_seed

__all__ = ["set_random_seed", "get_rng"]
