"""Keras 3 preprocessing layers: numeric (Rescaling, Normalization, CategoryEncoding), lookup and text
(StringLookup, IntegerLookup, TextVectorization) and image (Resizing, CenterCrop, RandomFlip, RandomRotation, RandomTranslation, RandomZoom)."""
from forgenet.layers.preprocessing.affine import RandomRotation, RandomTranslation, RandomZoom
from forgenet.layers.preprocessing.image import CenterCrop, RandomFlip, Resizing
from forgenet.layers.preprocessing.lookup import IntegerLookup, StringLookup, TextVectorization
from forgenet.layers.preprocessing.numeric import CategoryEncoding, Normalization, Rescaling

__all__ = ["Rescaling", "Normalization", "CategoryEncoding", "StringLookup", "IntegerLookup", "TextVectorization",
           "Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom"]
