"""Translation (encoder-decoder with attention): raw sentence → raw sentence."""

from zoo.translation.model import Translator

__all__ = ["Translator"]
