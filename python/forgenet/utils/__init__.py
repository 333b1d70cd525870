"""Small utilities: PyDataset, seeding, the random generator every part of forgenet draws from, text vocabularies."""
from forgenet.utils.packing import pack_x_y_sample_weight, unpack_x_y_sample_weight
from forgenet.utils.py_dataset import PyDataset, Sequence
from forgenet.utils.random import get_rng, set_random_seed
from forgenet.utils.text import CharVocabulary, sample_logits, unigram_entropy

__all__ = ["PyDataset", "Sequence", "pack_x_y_sample_weight", "unpack_x_y_sample_weight", "set_random_seed", "get_rng", "CharVocabulary", "sample_logits", "unigram_entropy"]
