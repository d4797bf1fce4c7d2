"""Image captioning (one-to-many): JPEG or PNG image → sentence."""

from zoo.captioning.model import Captioner

__all__ = ["Captioner"]
