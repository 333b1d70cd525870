"""Layers with Keras 3's names, arguments, defaults and weight layouts."""
from forgenet.layers.base import Layer

__all__ = ["Layer"]
