"""Layers shared by the zoo's models."""

from zoo.layers.characters import CharacterWordEncoder
from zoo.layers.pooling import MaskedMeanMaxPooling
from zoo.layers.recurrent import CELLS, ElmanCell, make_rnn, read_both_ways

__all__ = ["CELLS", "CharacterWordEncoder", "ElmanCell", "MaskedMeanMaxPooling", "make_rnn", "read_both_ways"]
