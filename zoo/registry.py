"""The catalogue: where model directories live and what their cards say.

Models are found, in this order, in every directory listed in `$ZOO_MODELS`
(separated by `os.pathsep`) and in the `saved_models/` directory of this
checkout. Each model is a TF Serving base path `<root>/<name>/<version>/`.
"""

import difflib
import os
from pathlib import Path

from zoo import artifacts

BUNDLED = Path(__file__).resolve().parent.parent / "saved_models"


def roots():
    extra = [Path(p) for p in os.environ.get("ZOO_MODELS", "").split(os.pathsep) if p]
    return [*extra, BUNDLED]


def _bases():
    """Maps each model name to its base directory; earlier roots win."""
    found = {}
    for root in roots():
        if not root.is_dir():
            continue
        for base in sorted(root.iterdir()):
            if base.name not in found and artifacts.version_dirs(base):
                found[base.name] = base
    return found


def list_models(task=None):
    """Names of the models in the catalogue, optionally only those of one task.

    Example:

    >>> import zoo
    >>> "sensor_basic_motions" in zoo.list_models(task="sensor-classification")
    True
    """
    bases = _bases()
    if task is None:
        return sorted(bases)
    return sorted(n for n, b in bases.items() if info(n).get("task") == task)


def resolve(name_or_path, version=None):
    """Finds the directory of one model version.

    Args:
        name_or_path: a catalogue name, a base directory holding numbered
            versions, or one version directory.
        version: a version number; the newest when `None` (as TF Serving).

    Raises:
        ValueError: for an unknown name (listing close matches) or version.
    """
    path = Path(name_or_path)
    if (path / "saved_model.pb").is_file() and version is None:
        return path
    bases = _bases()
    if path.is_dir():
        base = path
    elif str(name_or_path) in bases:
        base = bases[str(name_or_path)]
    else:
        close = difflib.get_close_matches(str(name_or_path), bases, n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown model {str(name_or_path)!r}: expected a name from zoo.list_models() "
            f"({', '.join(sorted(bases)) or 'none found'}) or a model directory.{hint}"
        )
    versions = artifacts.version_dirs(base)
    if not versions:
        raise ValueError(f"{base} holds no model version (numbered directories with saved_model.pb)")
    if version is None:
        return versions[max(versions)]
    if int(version) not in versions:
        raise ValueError(f"{base} has no version {version}; available: {sorted(versions)}")
    return versions[int(version)]


def info(name_or_path, version=None):
    """The model card of a model version, as a dict."""
    return artifacts.read_card(resolve(name_or_path, version))
