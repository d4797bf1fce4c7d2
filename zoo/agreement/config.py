"""`AgreementConfig`: the hyperparameters of an `AgreementClassifier`, its recipe's flags and their defaults."""

import dataclasses

from zoo.hyperparameters import Hyperparameters, at_least, fraction, hyperparameter, probability
from zoo.layers import CELLS

ENCODERS = (*CELLS, "dense")


@dataclasses.dataclass(frozen=True)
class AgreementConfig(Hyperparameters):
    """Hyperparameters of an `AgreementClassifier`, with the defaults its recipe trains with (the published
    agreement_brown's).

    Attributes:
        cell: `"elman"`, `"gru"`, `"lstm"` or `"dense"` (no recurrence: a
            per-word MLP and mean/max pooling over the words, the
            bag-of-words baseline).
        hidden: hidden size (per direction).
        bidirectional: read the words both ways.
        num_layers: stacked recurrent layers.
        word_dim: word embedding size.
        dropout: dropout on word vectors and on the last state, while training.
        word_dropout: probability that a known word is read as unknown while
            training, so the unknown entries learn what rare words mean.
        recurrent_initializer: initialiser of `W_hh`.
        max_tokens: longest input accepted (in tokens); longer ones are refused.
        seed: seed of the word dropout (the recipe's `--seed`).
        fine_tune_language_model: with a language model, train its reader's
            weights too (the recipe's `--fine-tune-lm`).
    """

    cell: str = hyperparameter("lstm", "recurrent cell; dense: no recurrence (the bag-of-words baseline)",
                               choices=ENCODERS)
    hidden: int = hyperparameter(128, "hidden state size (per direction)", parse=at_least(1))
    bidirectional: bool = hyperparameter(False, "read the words both ways")
    num_layers: int = hyperparameter(1, "stacked recurrent layers", parse=at_least(1), flag="layers")
    word_dim: int = hyperparameter(64, "word embedding size", parse=at_least(1))
    dropout: float = hyperparameter(0.2, "dropout on word vectors and the last state", parse=fraction)
    word_dropout: float = hyperparameter(0.05, "probability of reading a known word as unknown while training",
                                         parse=probability)
    recurrent_initializer: str = hyperparameter("orthogonal", "initialiser of the recurrent weights W_hh",
                                                flag="initializer")
    max_tokens: int = hyperparameter(10_000, "longest input the model accepts", parse=at_least(1))
    seed: int | None = hyperparameter(None, "seed of the word dropout", parse=int, recipe=False)
    fine_tune_language_model: bool = hyperparameter(False, "train the language model's weights too", recipe=False)
