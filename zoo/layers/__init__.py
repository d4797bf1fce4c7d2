"""Layers shared by the zoo's models."""

from zoo.layers.characters import CharacterWordEncoder
from zoo.layers.contextual import BidirectionalLanguageReader, ScalarMix
from zoo.layers.pooling import MaskedMeanMaxPooling
from zoo.layers.recurrent import CELLS, ElmanCell, ProjectedLSTMCell, make_rnn, read_both_ways

__all__ = ["CELLS", "BidirectionalLanguageReader", "CharacterWordEncoder", "ElmanCell", "MaskedMeanMaxPooling",
           "ProjectedLSTMCell", "ScalarMix", "make_rnn", "read_both_ways"]
