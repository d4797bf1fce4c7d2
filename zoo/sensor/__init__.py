"""Many-to-one: sensor series classification."""

from zoo.sensor.model import SensorClassifier
from zoo.sensor.serving import Classification

__all__ = ["Classification", "SensorClassifier"]
