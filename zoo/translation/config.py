"""The hyperparameters of a `Translator` (`TranslatorConfig`) and of a `TransformerTranslator`
(`TransformerConfig`), their recipe's flags and defaults: what both share is `SearchConfig`'s."""

import dataclasses

from zoo.hyperparameters import Hyperparameters, at_least, fraction, hyperparameter
from zoo.layers import CELLS
from zoo.layers.attention import SCORES

ATTENTIONS = ("none", *SCORES)


@dataclasses.dataclass(frozen=True)
class SearchConfig(Hyperparameters):
    """What every translator has, whatever its network, with the recipe's defaults (the published
    translate_es_en's).

    Attributes:
        embedding_dim: size of the piece embeddings (shared by source,
            target and output) and of the network's output.
        dropout: dropout on embeddings and on the network's output, while training.
        beam_width: beam width of `serving_default` and `translate` (1: greedy).
        length_penalty: beam hypotheses are ranked by log-probability /
            length ** length_penalty (the recipe chooses it on validation).
        max_length_ratio, max_length_offset: a translation is at most
            `max_length_ratio * source pieces + max_length_offset` pieces.
        max_source_tokens: longest source accepted, in words and
            punctuation marks; longer ones are refused with an error, never
            truncated.
        verbatim: copy placeholders, options, paths, numbers, addresses and
            markup as written: they are slots the network places, filled in
            after decoding (`zoo.translation.verbatim`).
    """

    embedding_dim: int = hyperparameter(256, "piece embedding size (source, target and output share the "
                                             "embeddings)", parse=at_least(1))
    dropout: float = hyperparameter(0.3, "dropout on embeddings and the combined state", parse=fraction)
    beam_width: int = hyperparameter(4, "beam width of the exported model (1: greedy)", parse=at_least(1))
    length_penalty: float = hyperparameter(1.0, "beam search ranks hypotheses by log-probability / length ** this",
                                           parse=at_least(0.0, float), recipe=False)
    max_length_ratio: float = hyperparameter(2.0, "a translation has at most this x the source's pieces, plus "
                                                  "--max-length-offset", parse=at_least(0.0, float))
    max_length_offset: int = hyperparameter(10, "pieces a translation may have beyond --max-length-ratio x the "
                                                "source's", parse=at_least(0))
    max_source_tokens: int = hyperparameter(500, "longest source the model accepts (words and punctuation marks)",
                                            parse=at_least(1))
    ABSENT_MEANS = {"verbatim": False}  # translate_es_en v5 and older: no slots

    verbatim: bool = hyperparameter(True, "copy placeholders, options, paths, numbers, addresses and markup as "
                                          "written: slots the network places (zoo.translation.verbatim)")


@dataclasses.dataclass(frozen=True)
class TranslatorConfig(SearchConfig):
    """A `Translator`'s hyperparameters: `SearchConfig`'s and its recurrent network's.

    Attributes:
        cell: `"elman"`, `"gru"` or `"lstm"`, for encoder and decoder.
        hidden: encoder state size per direction; the decoder's state has
            the size of an encoder state (both directions).
        attention: `"none"`, `"dot"`, `"general"` or `"additive"`.
        bidirectional: read the source both ways.
        recurrent_initializer: initialiser of `W_hh`.
    """

    cell: str = hyperparameter("gru", "recurrent cell", choices=CELLS)
    hidden: int = hyperparameter(256, "encoder state size per direction", parse=at_least(1))
    attention: str = hyperparameter("dot", "none: the encoder's last states only (the context vector); dot, "
                                           "general (Luong), additive (Bahdanau): a weighted sum of all encoder "
                                           "states at every step", choices=ATTENTIONS)
    bidirectional: bool = hyperparameter(True, "read the source both ways")
    recurrent_initializer: str = hyperparameter("orthogonal", "initialiser of the recurrent weights W_hh",
                                                flag="initializer")


@dataclasses.dataclass(frozen=True)
class TransformerConfig(SearchConfig):
    """A `TransformerTranslator`'s hyperparameters: `SearchConfig`'s and its layers'.

    Attributes:
        stack: encoder layers, and as many decoder layers.
        heads: attention heads per layer.
        feedforward: hidden size of each layer's feed-forward block.
    """

    stack: int = hyperparameter(3, "transformer: encoder layers, and as many decoder layers", parse=at_least(1))
    heads: int = hyperparameter(4, "transformer: attention heads", parse=at_least(1))
    feedforward: int = hyperparameter(1024, "transformer: feed-forward hidden size", parse=at_least(1))
