"""The zoo's version, in a module of its own so that anything can read it without importing the models."""

__version__ = "0.1.0"
