"""Small utilities: PyDataset, seeding, the random generator every part of forgenet draws from, text vocabularies."""
from forgenet.utils.packing import pack_x_y_sample_weight, unpack_x_y_sample_weight
from forgenet.utils.py_dataset import PyDataset, Sequence
from forgenet.utils.random import get_rng, set_random_seed
from forgenet.utils.text import CharVocabulary, sample_logits, unigram_entropy
from forgenet.utils.dataset_split import split_dataset
from forgenet.utils.numerical import normalize, to_categorical
from forgenet.utils.plot import model_to_dot, plot_model
from forgenet.utils.sequence import pad_sequences
from forgenet.utils.timeseries import timeseries_dataset_from_array

__all__ = ["PyDataset", "Sequence", "pack_x_y_sample_weight", "unpack_x_y_sample_weight", "set_random_seed",
           "get_rng", "CharVocabulary", "sample_logits", "unigram_entropy", "split_dataset", "normalize",
           "to_categorical", "model_to_dot", "plot_model", "pad_sequences", "timeseries_dataset_from_array"]
