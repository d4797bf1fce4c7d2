"""Many-to-one: sensor series classification."""

from zoo.sensor.model import SensorClassifier

__all__ = ["SensorClassifier"]
