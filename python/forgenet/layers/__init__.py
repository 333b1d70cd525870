"""Layers with Keras 3's names, arguments, defaults and weight layouts."""
from forgenet.layers.attention import MultiHeadAttention
from forgenet.layers.base import Layer
from forgenet.layers.convolutional import Conv2D
from forgenet.layers.normalization import LayerNormalization
from forgenet.layers.core import Activation, Dense, Dropout, Flatten, Reshape
from forgenet.layers.embedding import Embedding
from forgenet.layers.lstm import LSTM
from forgenet.layers.gru import GRU
from forgenet.layers.simple_rnn import SimpleRNN
from forgenet.layers.recurrent import RNN
from forgenet.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell
from forgenet.layers.wrappers import Bidirectional, TimeDistributed
from forgenet.layers.positional import PositionalEmbedding, PositionEmbedding, TokenAndPositionEmbedding
from forgenet.layers.pooling import AveragePooling2D, AvgPool2D, MaxPool2D, MaxPooling2D

__all__ = ["Layer", "Dense", "Activation", "Flatten", "Reshape", "Dropout", "Conv2D", "MaxPooling2D",
           "AveragePooling2D", "MaxPool2D", "AvgPool2D", "MultiHeadAttention", "LayerNormalization", "Embedding",
           "LSTM", "GRU", "SimpleRNN", "RNN", "LSTMCell", "GRUCell", "SimpleRNNCell", "Bidirectional",
           "TimeDistributed", "PositionEmbedding", "TokenAndPositionEmbedding",
           "PositionalEmbedding"]
