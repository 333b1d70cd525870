"""Layers with Keras 3's names, arguments, defaults and weight layouts."""
from forgenet.layers.attention import MultiHeadAttention
from forgenet.layers.base import Layer
from forgenet.layers.convolutional import Conv2D
from forgenet.layers.normalization import LayerNormalization
from forgenet.layers.core import Activation, Dense, Dropout, Flatten, Reshape
from forgenet.layers.embedding import Embedding
from forgenet.layers.input_layer import Input, InputLayer
from forgenet.layers.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average,
                                   concatenate, dot, maximum, minimum, multiply, subtract)
from forgenet.layers.lstm import LSTM
from forgenet.layers.positional import PositionalEmbedding, PositionEmbedding, TokenAndPositionEmbedding
from forgenet.layers.pooling import AveragePooling2D, AvgPool2D, MaxPool2D, MaxPooling2D

__all__ = ["Layer", "Dense", "Activation", "Flatten", "Reshape", "Dropout", "Conv2D", "MaxPooling2D",
           "AveragePooling2D", "MaxPool2D", "AvgPool2D", "MultiHeadAttention", "LayerNormalization", "Embedding",
           "LSTM", "PositionEmbedding", "TokenAndPositionEmbedding",
           "PositionalEmbedding", "Input", "InputLayer", "Add", "Subtract", "Multiply", "Average", "Maximum",
           "Minimum", "Concatenate", "Dot", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "dot"]
