"""`CaptionerConfig`: the hyperparameters of a `Captioner`, its recipe's flags and their defaults."""

import argparse
import dataclasses

from zoo.hyperparameters import Hyperparameters, at_least, fraction, hyperparameter
from zoo.layers import CELLS
from zoo.layers.attention import SCORES

DECODERS = ("attention", "init-state")
BACKBONES = ("cnn", "mobilenet_v3_small")


def channels(value):
    """A field's check: the CNN blocks' channels, `"16,32,64"` or a sequence of whole numbers >= 1, as a tuple.

    >>> channels("16, 32,64"), channels([8])
    ((16, 32, 64), (8,))
    """
    parts = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else ()
    try:
        filters = tuple(at_least(1)(part) for part in parts)
    except argparse.ArgumentTypeError:
        filters = ()
    if not filters:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers of at least 1, got {value!r}")
    return filters


@dataclasses.dataclass(frozen=True)
class CaptionerConfig(Hyperparameters):
    """Hyperparameters of a `Captioner`, with the defaults its recipe trains with (the published caption_scenes').

    Attributes:
        decoder: `"attention"` or `"init-state"` (`Captioner` tells both).
        cell: `"lstm"`, `"gru"` or `"elman"`.
        hidden: decoder state size (and attention key size).
        embedding_dim: word embedding size (and size of `tanh(W_c [...])`).
        filters: output channels of each CNN block; the grid is
            `image_size / 2 ** len(filters)` on a side.
        batch_norm: batch-normalise the CNN's convolutions.
        attention_score: `"additive"`, `"general"` or `"dot"`.
        dropout: dropout on the grid features, the word embeddings and the
            combined state.
        beam_width: beam width of `serving_default` and `caption` (1 = greedy).
        length_penalty: beam hypotheses are ranked by log-probability /
            length ** length_penalty.
        max_length: most tokens of a caption, the end token included (the
            recipe: the longest training caption's, plus 4).
        image_size: images are resized to `image_size` × `image_size`.
        backbone: `"cnn"` (from scratch) or `"mobilenet_v3_small"`.
        recurrent_initializer: initialiser of `W_hh`.
    """

    decoder: str = hyperparameter("attention", "attention: a weighted sum of the image grid at every word (Show, "
                                               "Attend and Tell); init-state: the image is the decoder's initial "
                                               "state only (Show and Tell)", choices=DECODERS)
    cell: str = hyperparameter("lstm", "recurrent cell", choices=CELLS)
    hidden: int = hyperparameter(128, "decoder state size (and attention key size)", parse=at_least(1))
    embedding_dim: int = hyperparameter(64, "word embedding size (shared with the output)", parse=at_least(1))
    filters: tuple = hyperparameter((16, 32, 64), "channels of each CNN block (two 3x3 convolutions, then 2x2 "
                                                  "pooling)", parse=channels)
    batch_norm: bool = hyperparameter(True, "batch-normalise the CNN's convolutions")
    attention_score: str = hyperparameter("additive", "how the decoder scores grid positions", choices=SCORES)
    dropout: float = hyperparameter(0.1, "dropout on grid features, words and states", parse=fraction)
    beam_width: int = hyperparameter(3, "beam width of the exported model (1: greedy)", parse=at_least(1))
    length_penalty: float = hyperparameter(1.0, "beam search ranks hypotheses by log-probability / length ** this",
                                           parse=at_least(0.0, float), recipe=False)
    max_length: int = hyperparameter(24, "most tokens of a caption, the end token included", parse=at_least(1),
                                     recipe=False)
    image_size: int = hyperparameter(64, "images are resized to this square", parse=at_least(1))
    backbone: str = hyperparameter("cnn", "cnn: trained from scratch; mobilenet_v3_small: keras.applications' "
                                          "MobileNetV3Small", choices=BACKBONES)
    recurrent_initializer: str = hyperparameter("orthogonal", "initialiser of the recurrent weights W_hh",
                                                flag="initializer")
