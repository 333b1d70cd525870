"""Layers with Keras 3's names, arguments, defaults and weight layouts."""
from forgenet.layers.attention import MultiHeadAttention
from forgenet.layers.base import Layer
from forgenet.layers.convolutional import Conv1D, Conv2D, Convolution1D, Convolution2D
from forgenet.layers.conv_extra import (Conv2DTranspose, Convolution2DTranspose, DepthwiseConv2D, SeparableConv2D,
                                        SeparableConvolution2D)
from forgenet.layers.core_extra import ELU, Identity, Lambda, LeakyReLU, Masking, PReLU, ReLU, Softmax
from forgenet.layers.dot_attention import AdditiveAttention, Attention
from forgenet.layers.preprocessing import (CategoryEncoding, CenterCrop, IntegerLookup, Normalization,
                                           RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling,
                                           Resizing, StringLookup, TextVectorization)
from forgenet.layers.regularization import (AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D,
                                            SpatialDropout2D)
from forgenet.layers.reshaping import (Cropping1D, Cropping2D, Permute, RepeatVector, UpSampling1D, UpSampling2D,
                                       ZeroPadding1D, ZeroPadding2D)
from forgenet.layers.normalization import (BatchNormalization, GroupNormalization, LayerNormalization,
                                           UnitNormalization)
from forgenet.layers.core import Activation, Dense, Dropout, Flatten, Reshape
from forgenet.layers.embedding import Embedding
from forgenet.layers.input_layer import Input, InputLayer
from forgenet.layers.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average,
                                   concatenate, dot, maximum, minimum, multiply, subtract)
from forgenet.layers.lstm import LSTM
from forgenet.layers.gru import GRU
from forgenet.layers.simple_rnn import SimpleRNN
from forgenet.layers.recurrent import RNN
from forgenet.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell
from forgenet.layers.stacked_cells import StackedRNNCells
from forgenet.layers.wrappers import Bidirectional, TimeDistributed
from forgenet.layers.positional import PositionalEmbedding, PositionEmbedding, TokenAndPositionEmbedding
from forgenet.layers.pooling import AveragePooling2D, AvgPool2D, MaxPool2D, MaxPooling2D
from forgenet.layers.pooling import (AveragePooling1D, AvgPool1D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                                     GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D,
                                     GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPooling1D)

__all__ = ["Layer", "Dense", "Activation", "Flatten", "Reshape", "Dropout", "Conv2D", "MaxPooling2D",
           "AveragePooling2D", "MaxPool2D", "AvgPool2D", "MultiHeadAttention", "LayerNormalization", "Embedding",
           "LSTM", "GRU", "SimpleRNN", "RNN", "LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells", "Bidirectional",
           "TimeDistributed", "PositionEmbedding", "TokenAndPositionEmbedding",
           "PositionalEmbedding",
           # convolution, pooling, reshaping
           "Conv1D", "Convolution1D", "Convolution2D", "Conv2DTranspose", "Convolution2DTranspose", "DepthwiseConv2D",
           "SeparableConv2D", "SeparableConvolution2D", "MaxPooling1D", "AveragePooling1D", "MaxPool1D", "AvgPool1D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "UpSampling1D",
           "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "RepeatVector", "Permute",
           # normalization and regularization
           "BatchNormalization", "GroupNormalization", "UnitNormalization", "SpatialDropout1D", "SpatialDropout2D",
           "GaussianNoise", "GaussianDropout", "AlphaDropout",
           # core and activations
           "Lambda", "Masking", "Identity", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Attention",
           "AdditiveAttention",
           # preprocessing
           "Rescaling", "Normalization", "CategoryEncoding", "StringLookup", "IntegerLookup", "TextVectorization",
           "Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
           # functional API and merging
           "Input", "InputLayer", "Add", "Subtract", "Multiply", "Average", "Maximum",
           "Minimum", "Concatenate", "Dot", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "dot"]
