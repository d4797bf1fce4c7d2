"""The catalogue: where model versions are found, what their cards say, and how a missing one is fetched.

A model is a TF Serving base directory `<name>/<version>/`. A name is
looked for in this order, and the first place that holds the name (for a
given version: that version) wins:

1. an explicit path: a version directory or a base directory;
2. every directory listed in `$ZOO_MODELS` (separated by `os.pathsep`);
3. installed model packages (wheels built by `zoo package`), found through
   the `zoo.models` entry-point group;
4. the `saved_models/` directory of a source checkout, when the zoo runs
   from one;
5. the download cache `$ZOO_HOME/models` (`~/.cache/zoo/models` by
   default), filled by `zoo download` or `zoo.load(..., download=True)` from
   the archives listed in `catalogue.json` under the base URL (or directory)
   `$ZOO_MODELS_URL`, each checked against its size and sha256.

Reading the catalogue needs neither TensorFlow nor Keras.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from importlib import metadata, resources
from os import PathLike
from pathlib import Path

from zoo import artifacts, downloads

ENTRY_POINTS = "zoo.models"  # group: model name -> the package module holding `<version>/` directories
_SOURCE_ROOT = Path(__file__).resolve().parent.parent
CHECKOUT = _SOURCE_ROOT / "saved_models" if (_SOURCE_ROOT / "pyproject.toml").is_file() else None


def home() -> Path:
    """The zoo's cache: `$ZOO_HOME`, else `~/.cache/zoo`."""
    return Path(os.environ.get("ZOO_HOME") or Path.home() / ".cache" / "zoo")


def cache() -> Path:
    """Where downloaded model versions are unpacked: `<home>/models/<name>/<version>/`."""
    return home() / "models"


def model_dirs() -> list[Path]:
    """The directories listed in `$ZOO_MODELS`, in order."""
    return [Path(p) for p in os.environ.get("ZOO_MODELS", "").split(os.pathsep) if p]


def installed_packages() -> dict[str, Path]:
    """Maps each model of an installed model package to its base directory."""
    found = {}
    for entry in metadata.entry_points(group=ENTRY_POINTS):
        spec = importlib.util.find_spec(entry.value)
        if entry.name not in found and spec is not None and spec.submodule_search_locations:
            found[entry.name] = Path(next(iter(spec.submodule_search_locations)))
    return found


def _bases_in(root):
    """Maps the name of each model base directory under `root` to it."""
    if root is None or not root.is_dir():
        return {}
    return {base.name: base for base in sorted(root.iterdir()) if artifacts.version_dirs(base)}


def _places():
    """Each place models are looked for, in resolution order, as a map of model name to base directory."""
    packages = {name: base for name, base in installed_packages().items() if artifacts.version_dirs(base)}
    return [*map(_bases_in, model_dirs()), packages, _bases_in(CHECKOUT), _bases_in(cache())]


def list_models(task: str | None = None) -> list[str]:
    """Names of the models on this machine, optionally only those of one task.

    Example:

    >>> import zoo
    >>> "sensor_basic_motions" in zoo.list_models(task="sensor-classification")
    True
    """
    names = sorted({name for place in _places() for name in place})
    if task is None:
        return names
    return [n for n in names if info(n).get("task") == task]


def catalogue() -> dict:
    """The published versions that can be downloaded: `{name: {version: {"archive", "sha256", "size"}}}`.

    `size` (bytes) may be missing from older catalogues: such a download is
    capped at `zoo.downloads.DEFAULT_MAX_BYTES`.
    """
    return json.loads(resources.files("zoo").joinpath("catalogue.json").read_text())


def local_versions(name: str) -> list[int]:
    """The versions of the model `name` on this machine, in any of the places it is looked for."""
    return sorted({v for place in _places() if name in place for v in artifacts.version_dirs(place[name])})


def resolve(name_or_path: str | PathLike, version: int | None = None) -> Path:
    """Finds the directory of one model version.

    Args:
        name_or_path: a catalogue name, a base directory holding numbered
            versions, or one version directory.
        version: a version number; the newest when `None` (as TF Serving).

    Raises:
        ValueError: for an unknown name or version, saying what exists and
            the command that gets a missing one.
    """
    path = Path(name_or_path)
    if (path / "saved_model.pb").is_file() and version is None:
        return path
    if path.is_dir():
        return _version_of(path, version)
    name = str(name_or_path)
    for place in _places():
        if name in place and (version is None or int(version) in artifacts.version_dirs(place[name])):
            return _version_of(place[name], version)
    raise ValueError(_not_found(name, version))


def _version_of(base, version):
    versions = artifacts.version_dirs(base)
    if not versions:
        raise ValueError(f"{base} holds no model version (numbered directories with saved_model.pb)")
    if version is None:
        return versions[max(versions)]
    if int(version) not in versions:
        raise ValueError(f"{base} has no version {version}; available: {sorted(versions)}")
    return versions[int(version)]


def _not_found(name, version):
    """One line: what is missing, what exists, and the command that gets it."""
    published = sorted(int(v) for v in catalogue().get(name, {}))
    here = local_versions(name)
    if not here and not published:
        names = list_models()
        close = difflib.get_close_matches(name, list(dict.fromkeys([*names, *catalogue()])), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        return (f"Unknown model {name!r}: expected a name from zoo.list_models() ({', '.join(names) or 'none found'}) "
                f"or a model directory.{hint}")
    wanted = name if version is None else f"{name} version {version}"
    known = f"on this machine: {here or 'none'}; published: {published or 'none'}"
    if version is None or int(version) in published:
        option = "" if version is None else f" --model-version {version}"
        return (f"{wanted} is not on this machine ({known}): get it with `zoo download {name}{option}` "
                f"($ZOO_MODELS_URL set to where the archives are), or `pip install` the wheel `zoo package {name}` "
                "builds")
    return f"{wanted} does not exist ({known})"


def download(name: str, version: int | None = None, force: bool = False, progress: bool | None = None) -> Path:
    """Fetches a published model version into the cache, its archive's size and sha256 checked; returns its directory.

    The archive is looked up under `$ZOO_MODELS_URL` (an http(s) or file URL,
    or a directory) by the file name, size and hash `catalogue()` lists,
    fetched with `zoo.downloads.fetch` (timeouts: `$ZOO_CONNECT_TIMEOUT`,
    `$ZOO_READ_TIMEOUT`), unpacked by `artifacts.unpack_archive` and verified,
    all inside a hidden scratch directory of the cache, which is then renamed
    into place: a failure leaves nothing behind, and of two processes fetching
    the same version, the second to finish verifies and uses the first's. A
    version already in the cache is verified and reused.

    Args:
        force: fetch again even if the version is cached, and swap the new
            copy in for the cached one (which stays in place if the fetch fails).
        progress: show the bytes received on stderr; by default when stderr
            is a terminal.

    Raises:
        ValueError: an unknown name or version, `$ZOO_MODELS_URL` unset, or
            a timeout variable that is not a number.
        CorruptModelError: the cached version is corrupt (the message says to
            use `--force`), or the archive is not a plain tar of a valid version.
        DownloadError (an OSError): the download failed, or the cache cannot
            be written.
    """
    entry, version = _published(name, version)
    target = cache() / name / str(version)
    if target.exists() and not force:
        return _verified_cache(target, name, version)
    base_url = os.environ.get("ZOO_MODELS_URL")
    if not base_url:
        raise ValueError(f"{name} v{version} is not on this machine and $ZOO_MODELS_URL is unset: set it to the URL "
                         f"(or directory) the model archives are published under ({entry['archive']})")
    url = downloads.url_of(base_url, entry["archive"])
    if progress is None:
        progress = downloads.terminal() is not None
    with _scratch(target) as scratch:
        archive = downloads.fetch(url, scratch / entry["archive"], entry["sha256"], entry.get("size"),
                                  progress=sys.stderr if progress else None)
        artifacts.unpack_archive(archive, scratch / "version")
        try:
            artifacts.verify(scratch / "version")
        except artifacts.CorruptModelError as err:
            raise artifacts.CorruptModelError(f"{url} holds no valid model version: {err}") from None
        if force and target.exists():
            os.rename(target, scratch / "replaced")  # removed with the scratch directory
        return _move_into_place(scratch / "version", target, name, version)


def _published(name, version):
    """The catalogue entry of a published version (the newest when `version` is `None`), and its number."""
    published = catalogue().get(name)
    if not published:
        raise ValueError(_not_found(name, version))
    version = int(version) if version is not None else max(int(v) for v in published)
    if str(version) not in published:
        raise ValueError(_not_found(name, version))
    return published[str(version)], version


def _verified_cache(target, name, version):
    """`target`, once verified; a corrupt one is an error that says how to replace it."""
    try:
        artifacts.verify(target)
    except artifacts.CorruptModelError as err:
        raise artifacts.CorruptModelError(
            f"{err}; replace the cached copy with `zoo download {name} --model-version {version} --force`") from None
    return target


@contextlib.contextmanager
def _scratch(target):
    """A hidden scratch directory beside `target`, removed afterwards whatever happens.

    Raises:
        DownloadError: the cache cannot be written, naming `$ZOO_HOME`.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        artifacts.remove_partials(target.parent, older_than=artifacts.STALE_PARTIAL_SECONDS)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as err:
        raise downloads.DownloadError(
            f"cannot write the download cache {target.parent}: {err.strerror or err}; set $ZOO_HOME to a writable "
            f"directory (now {os.environ.get('ZOO_HOME') or 'unset: ~/.cache/zoo'})") from None
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _move_into_place(unpacked, target, name, version):
    """Renames `unpacked` to `target`; when another download got there first, verifies and uses its copy."""
    try:
        os.rename(unpacked, target)
    except OSError as err:
        if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
        return _verified_cache(target, name, version)
    return target


def info(name_or_path: str | PathLike, version: int | None = None) -> dict:
    """The model card of a model version, as a dict."""
    return artifacts.read_card(resolve(name_or_path, version))
