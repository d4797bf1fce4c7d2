"""`LanguageModelConfig`: the hyperparameters of a `LanguageModel`, its recipe's flags and their defaults."""

import dataclasses

from zoo.hyperparameters import Hyperparameters, at_least, fraction, hyperparameter


@dataclasses.dataclass(frozen=True)
class LanguageModelConfig(Hyperparameters):
    """Hyperparameters of a `LanguageModel`, with the defaults its recipe trains with (the published
    lm_english's).

    Attributes:
        hidden: LSTM state size of each direction.
        projection: size of the word vectors and of each state's projection.
        dropout: dropout on word vectors and states.
        sampled: words sampled per step in training.
        max_tokens: longest sentence accepted (tokens); the recipe's
            `--max-tokens` is the longest sentence it trains on.
    """

    hidden: int = hyperparameter(512, "LSTM state size of each direction", parse=at_least(1))
    projection: int = hyperparameter(128, "size of the word vectors and of the projected LSTM states (the cost of "
                                          "a step)", parse=at_least(1))
    dropout: float = hyperparameter(0.1, "dropout on word vectors and states", parse=fraction)
    sampled: int = hyperparameter(2048, "words sampled per step by the softmax in training", parse=at_least(1))
    max_tokens: int = hyperparameter(1000, "longest sentence the model accepts (tokens)", parse=at_least(1),
                                     recipe=False)
