"""`TaggerConfig`: the hyperparameters of a `SequenceTagger`, its recipe's flags and their defaults."""

import dataclasses

from zoo.hyperparameters import Hyperparameters, at_least, fraction, hyperparameter, probability
from zoo.layers import CELLS


@dataclasses.dataclass(frozen=True)
class TaggerConfig(Hyperparameters):
    """Hyperparameters of a `SequenceTagger`, with the defaults its recipe trains with (the published
    pos_brown's).

    Attributes:
        cell: `"elman"`, `"gru"` or `"lstm"`.
        hidden: hidden size per direction.
        bidirectional: read the sentence both ways.
        num_layers: stacked recurrent layers.
        word_dim, char_dim: embedding sizes.
        char_filters, char_width: the character convolution.
        max_chars: characters read per token; a longer token is read as its
            first and last `max_chars // 2` characters, so suffixes survive.
        char_boundaries: mark the start and end of every token for the
            character encoder, so it can tell affixes from inner letters.
        dropout: dropout on token vectors and recurrent outputs while training.
        word_dropout: probability that a known word is replaced by the
            out-of-vocabulary entry while training, so the network learns to
            tag unknown words from their characters and context.
        recurrent_initializer: initialiser of `W_hh`.
        max_tokens: longest sentence accepted (in tokens); longer ones are
            refused with an error that says so, never truncated.
        seed: seed of the word dropout (the recipe's `--seed`).
        fine_tune_language_model: with a language model, train its reader's
            weights with the tagger's, else they stay as pretrained, and so
            does its dropout (the recipe's `--fine-tune-lm`).
    """

    cell: str = hyperparameter("gru", "recurrent cell", choices=CELLS)
    hidden: int = hyperparameter(64, "hidden state size (per direction)", parse=at_least(1))
    bidirectional: bool = hyperparameter(True, "read the sentence both ways")
    num_layers: int = hyperparameter(1, "stacked recurrent layers", parse=at_least(1), flag="layers")
    word_dim: int = hyperparameter(64, "word embedding size", parse=at_least(1))
    char_dim: int = hyperparameter(24, "character embedding size", parse=at_least(1))
    char_filters: int = hyperparameter(96, "character convolution filters", parse=at_least(1))
    char_width: int = hyperparameter(3, "character convolution width", parse=at_least(1))
    max_chars: int = hyperparameter(16, "characters read per token (first+last half)", parse=at_least(2))
    char_boundaries: bool = hyperparameter(True, "mark each token's start and end for the character encoder")
    dropout: float = hyperparameter(0.3, "dropout on token vectors and RNN outputs", parse=fraction)
    word_dropout: float = hyperparameter(0.1, "probability of replacing a known word by the unknown-word entry "
                                              "while training", parse=probability)
    recurrent_initializer: str = hyperparameter("orthogonal", "initialiser of the recurrent weights W_hh",
                                                flag="initializer")
    max_tokens: int = hyperparameter(10_000, "longest sentence the model accepts", parse=at_least(1))
    seed: int | None = hyperparameter(None, "seed of the word dropout", parse=int, recipe=False)
    fine_tune_language_model: bool = hyperparameter(False, "train the language model's weights too", recipe=False)
