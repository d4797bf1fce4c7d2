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
   the archives listed in `catalogue.json` under the base URL
   `$ZOO_MODELS_URL`, each checked against its sha256.

Reading the catalogue needs neither TensorFlow nor Keras.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import shutil
import tarfile
import tempfile
from importlib import metadata, resources
from os import PathLike
from pathlib import Path

from zoo import artifacts

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
    """The published versions that can be downloaded: `{name: {version: {"archive", "sha256"}}}`."""
    return json.loads(resources.files("zoo").joinpath("catalogue.json").read_text())


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
    here = sorted({v for place in _places() if name in place for v in artifacts.version_dirs(place[name])})
    if not here and not published:
        names = list_models()
        close = difflib.get_close_matches(name, [*names, *catalogue()], n=3, cutoff=0.4)
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


def download(name: str, version: int | None = None) -> Path:
    """Fetches a published model version into the cache, checking the archive's sha256; returns its directory.

    The archives are looked up under the base URL `$ZOO_MODELS_URL`, by the
    file names and hashes `catalogue()` lists. A version already in the
    cache is verified and reused.

    Raises:
        ValueError: an unknown name or version, or `$ZOO_MODELS_URL` unset.
        OSError: the download failed or its sha256 does not match.
    """
    published = catalogue().get(name)
    if not published:
        raise ValueError(_not_found(name, version))
    version = int(version) if version is not None else max(int(v) for v in published)
    if str(version) not in published:
        raise ValueError(_not_found(name, version))
    target = cache() / name / str(version)
    if (target / "saved_model.pb").is_file():
        artifacts.verify(target)
        return target
    base_url = os.environ.get("ZOO_MODELS_URL")
    if not base_url:
        raise ValueError(f"{name} v{version} is not on this machine and $ZOO_MODELS_URL is unset: set it to the URL "
                         f"the model archives are published under ({published[str(version)]['archive']})")
    archive = _fetch(base_url, published[str(version)], name)
    _unpack(archive, target)
    return target


def _fetch(base_url, entry, name):
    from keras.utils import get_file  # progress bar, resumable cache, hash check

    home().mkdir(parents=True, exist_ok=True)  # else get_file falls back to a directory of its own in /tmp
    try:
        return Path(get_file(fname=entry["archive"], origin=f"{base_url.rstrip('/')}/{entry['archive']}",
                             file_hash=entry["sha256"], hash_algorithm="sha256", cache_dir=str(home()),
                             cache_subdir="downloads"))
    except Exception as err:  # get_file raises bare Exceptions for network failures
        raise OSError(f"downloading {name} from {base_url}: {' '.join(str(err).split())}") from None


def _unpack(archive, target):
    """Unpacks a version archive next to `target` and renames it into place, verified."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
        artifacts.verify(scratch)
        os.rename(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def info(name_or_path: str | PathLike, version: int | None = None) -> dict:
    """The model card of a model version, as a dict."""
    return artifacts.read_card(resolve(name_or_path, version))
