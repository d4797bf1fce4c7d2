"""Part-of-speech tagging (many-to-many, aligned): raw sentence → one tag per token."""

from zoo.tagging.model import SequenceTagger

__all__ = ["SequenceTagger"]
