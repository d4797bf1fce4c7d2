"""One model version on disk: TF Serving's layout plus the zoo's metadata, written atomically.

```
<base>/<version>/saved_model.pb, variables/, assets/     the SavedModel
<base>/<version>/assets.extra/model_card.json             what it is, how it was made, how good it is
<base>/<version>/assets.extra/keras/config.json           the fine-tunable Keras model's architecture (its
                                                           weights are the SavedModel's, stored once)
<base>/<version>/assets.extra/tf_serving_warmup_requests TF Serving warm-up records
<base>/<version>/assets.extra/manifest.json              sha256 of every other file
```

A version is written into a hidden temporary sibling and renamed into place, so
TF Serving (which polls `<base>` for numeric directories) and `zoo.load` never
see half a version, and a killed export leaves nothing loadable behind.

A version archive (`zoo package --format archive`, what `zoo download` fetches)
is a plain tar of these files; `unpack_archive` is the one reader of it.
"""

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

from zoo import archives

MANIFEST = "assets.extra/manifest.json"
CARD = "assets.extra/model_card.json"
KERAS_CONFIG = "assets.extra/keras/config.json"
KERAS_MODEL = "assets.extra/keras/model.keras"  # versions written before the weights were stored once
WARMUP = "assets.extra/tf_serving_warmup_requests"
_PARTIAL = ".partial-"
MAX_VERSION = 2 ** 63 - 1  # TF Serving's version numbers are int64
STALE_PARTIAL_SECONDS = 3600  # an export this old is no longer running: its scratch directory is left over
ARCHIVE_MEMBERS = 10_000  # the most files and directories one version archive may hold


class CorruptModelError(ValueError):
    """A model version whose files do not match its manifest."""


class ArchiveError(CorruptModelError, archives.ArchiveError):
    """A version archive that is not a plain tar of regular files and directories inside the version."""


def version_number(name):
    """The version a directory name stands for: ASCII digits, 1 to `MAX_VERSION`; `None` for any other name.

    >>> version_number("12"), version_number("0"), version_number("²"), version_number("9" * 20)
    (12, None, None, None)
    """
    if not (name.isascii() and name.isdigit()):
        return None
    number = int(name)
    return number if 0 < number <= MAX_VERSION else None


def version_dirs(base):
    """Maps each complete version number under `base` to its directory."""
    base = Path(base)
    if not base.is_dir():
        return {}
    numbered = ((version_number(p.name), p) for p in base.iterdir() if p.is_dir())
    return {number: path for number, path in numbered if number is not None}


def next_version(base):
    return max(version_dirs(base), default=0) + 1


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root):
    return sorted(
        p.relative_to(root).as_posix() for p in Path(root).rglob("*") if p.is_file()
    )


def write_manifest(version_dir):
    version_dir = Path(version_dir)
    files = {rel: _sha256(version_dir / rel) for rel in _files(version_dir) if rel != MANIFEST}
    (version_dir / MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    (version_dir / MANIFEST).write_text(json.dumps({"sha256": files}, indent=1, sort_keys=True))


def verify(version_dir):
    """Checks every file of a version against its manifest.

    Raises:
        CorruptModelError: naming the first file that is missing, altered or
            not listed, or the manifest itself when it is absent or unreadable.
    """
    version_dir = Path(version_dir)
    try:
        expected = json.loads((version_dir / MANIFEST).read_text())["sha256"]
    except (OSError, ValueError, KeyError) as err:
        raise CorruptModelError(
            f"{version_dir / MANIFEST}: missing or unreadable manifest ({err}); "
            "expected a JSON object {'sha256': {file: digest}} written by export"
        ) from None
    if not isinstance(expected, dict):
        raise CorruptModelError(f"{version_dir / MANIFEST}: expected a JSON object {{'sha256': {{file: digest}}}}")
    present = set(_files(version_dir)) - {MANIFEST}
    unlisted = sorted(present - set(expected))
    if unlisted:
        raise CorruptModelError(f"{version_dir / unlisted[0]}: file not listed in the manifest")
    # only files found inside the version are read: an entry such as "../x" is never opened, it is missing
    missing = sorted(set(expected) - present)
    if missing:
        raise CorruptModelError(f"{version_dir}: {missing[0]!r}, listed in the manifest, is not a file of the version")
    for rel, digest in sorted(expected.items()):
        path = version_dir / rel
        if _sha256(path) != digest:
            raise CorruptModelError(f"{path}: sha256 does not match the manifest (file altered or corrupt)")


def read_card(version_dir):
    path = Path(version_dir) / CARD
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise CorruptModelError(f"{path}: missing or unreadable model card ({err})") from None


@contextlib.contextmanager
def atomic_version(base, version):
    """Yields a scratch directory that becomes `<base>/<version>` on success.

    The manifest is written last, the files are flushed to disk, and the
    directory is renamed into place in one step. On any error the scratch
    directory is removed and no version appears. Scratch directories that a
    killed export left more than `STALE_PARTIAL_SECONDS` ago are removed
    first (younger ones may belong to an export still running).
    """
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    remove_partials(base, older_than=STALE_PARTIAL_SECONDS)
    final = base / str(version)
    if final.exists():
        raise FileExistsError(f"{final} already exists: versions are immutable, pick a new version")
    scratch = base / f".{version}{_PARTIAL}{uuid.uuid4().hex[:8]}"
    try:
        scratch.mkdir()
        yield scratch
        write_manifest(scratch)
        for path in scratch.rglob("*"):
            if path.is_file():
                with open(path, "rb") as f:
                    os.fsync(f.fileno())
        os.rename(scratch, final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def remove_partials(base, older_than=0.0):
    """Deletes the scratch directories of exports that were killed, last changed over `older_than` seconds ago."""
    for path in Path(base).glob(f".*{_PARTIAL}*"):
        with contextlib.suppress(FileNotFoundError):  # its export or download finished meanwhile
            if time.time() - path.stat().st_mtime > older_than:
                shutil.rmtree(path, ignore_errors=True)


def unpack_archive(archive, destination):
    """Unpacks a version archive, a plain tar, into `destination`, a directory it creates, with the zoo's one
    tar reader (`zoo.archives.unpack`: every member checked, whatever the Python version; a compressed file
    refused before anything is decompressed; at most `ARCHIVE_MEMBERS` members).

    Raises:
        ArchiveError: one line naming the archive and the first member refused,
            or why the archive cannot be read.
    """
    try:
        archives.unpack(archive, destination, max_members=ARCHIVE_MEMBERS,
                        hint=" (`zoo package --format archive`)")
    except archives.ArchiveError as err:
        raise ArchiveError(str(err)) from None
