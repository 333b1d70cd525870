"""Small utilities: PyDataset, seeding, the random generator every part of forgenet draws from, text vocabularies."""
from forgenet.utils.py_dataset import PyDataset, Sequence
from forgenet.utils.random import get_rng, set_random_seed
from forgenet.utils.text import CharVocabulary, sample_logits, unigram_entropy

__all__ = ["PyDataset", "Sequence", "set_random_seed", "get_rng", "CharVocabulary", "sample_logits", "unigram_entropy"]
