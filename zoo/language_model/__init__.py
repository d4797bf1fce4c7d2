"""Language modelling (next-step prediction, both ways): raw sentence → log-probability of every word."""

from zoo.language_model.model import LanguageModel

__all__ = ["LanguageModel"]
