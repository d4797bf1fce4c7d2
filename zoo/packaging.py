"""One model version as something to hand to a user: a wheel `pip` installs offline, or an archive to download.

A model wheel (`zoo package NAME`) holds the version directory, unchanged,
inside a package module `zoo_model_<name>`, and declares it in the
`zoo.models` entry-point group, where `zoo.load` and `zoo.list_models` find
it; its manifest is still checked on every load. The wheel is written
directly in the binary distribution format (a zip with `METADATA`, `WHEEL`,
`entry_points.txt` and a `RECORD` of hashes), so packaging needs no build
backend and no network.

An archive (`zoo package NAME --format archive`) is a tar of the version's
files, written reproducibly (sorted names, fixed times and owners, and not
compressed: a compressor's output varies with its version, and weights
barely compress), so its sha256 and size — which `catalogue.json` records for
`zoo download` — depend on the model's files alone.

A model card's name becomes a file name, a module name and an entry point:
one that is not letters, digits, `_`, `-` and `.` (so one that would write
outside `--out`) is refused.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import tarfile
import tempfile
import zipfile
from pathlib import Path

from zoo import artifacts
from zoo.registry import ENTRY_POINTS
from zoo.version import __version__

WHEEL_TAG = "py3-none-any"
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can record
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def distribution_name(name: str) -> str:
    """The pip name of a model's package: `pos_brown` → `rnn-zoo-model-pos-brown`."""
    return "rnn-zoo-model-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def module_name(name: str) -> str:
    return "zoo_model_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def build_wheel(version_dir: str | Path, out_dir: str | Path) -> Path:
    """Writes the wheel of one verified model version into `out_dir`; returns its path."""
    version_dir = Path(version_dir)
    name, version = _name_and_version(version_dir)
    card = artifacts.read_card(version_dir)
    module = module_name(name)
    dist_info = f"{distribution_name(name).replace('-', '_')}-{version}.dist-info"
    files = {f"{module}/__init__.py": _module_text(card).encode()}
    for path in sorted(p for p in version_dir.rglob("*") if p.is_file()):
        files[f"{module}/{version}/{path.relative_to(version_dir).as_posix()}"] = path.read_bytes()
    files[f"{dist_info}/METADATA"] = _metadata(card).encode()
    files[f"{dist_info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: rnn-zoo {__version__}\nRoot-Is-Purelib: true\n"
                                   f"Tag: {WHEEL_TAG}\n").encode()
    files[f"{dist_info}/entry_points.txt"] = f"[{ENTRY_POINTS}]\n{name} = {module}\n".encode()
    record = "".join(f"{path},sha256={_urlsafe_digest(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    out = Path(out_dir) / f"{distribution_name(name).replace('-', '_')}-{version}-{WHEEL_TAG}.whl"
    return _write_atomically(out, lambda f: _write_zip(f, files))


def build_archive(version_dir: str | Path, out_dir: str | Path) -> Path:
    """Writes `<name>-<version>.tar` of one verified model version into `out_dir`; returns its path."""
    version_dir = Path(version_dir)
    out = Path(out_dir) / archive_name(*_name_and_version(version_dir))
    return _write_atomically(out, lambda f: _write_tar(f, version_dir))


def archive_name(name: str, version: int) -> str:
    return f"{name}-{int(version)}.tar"


def _name_and_version(version_dir):
    """The model card's name and version of a verified version, refused unless both are safe in a file name."""
    artifacts.verify(version_dir)
    card = artifacts.read_card(version_dir)
    name, version = str(card.get("name")), artifacts.version_number(str(card.get("version")))
    if not _MODEL_NAME.fullmatch(name):
        raise ValueError(f"{version_dir / artifacts.CARD}: model name {name!r} is not a safe file name "
                         "(expected letters, digits, '_', '-' and '.', starting with a letter or digit)")
    if version is None:
        raise ValueError(f"{version_dir / artifacts.CARD}: version {card.get('version')!r} is not a version number")
    return name, version


def record_in_catalogue(catalogue_path: str | Path, archive: str | Path, published=None) -> None:
    """Adds (or updates) an archive's entry in a `catalogue.json`: name, version, file name, sha256, size.

    `published`: the version numbers of that model still published; its entries for any other version are
    dropped, so a version retired to git history leaves the catalogue with it. `None` keeps them all.
    """
    catalogue_path, archive = Path(catalogue_path), Path(archive)
    name, version = archive.name.removesuffix(".tar").rsplit("-", 1)
    data = archive.read_bytes()
    catalogue = json.loads(catalogue_path.read_text()) if catalogue_path.exists() else {}
    entries = catalogue.setdefault(name, {})
    entries[str(int(version))] = {"archive": archive.name, "sha256": hashlib.sha256(data).hexdigest(),
                                  "size": len(data)}
    if published is not None:
        kept = {str(int(v)) for v in published} | {str(int(version))}
        catalogue[name] = {v: entry for v, entry in entries.items() if v in kept}
    text = json.dumps(catalogue, indent=2, sort_keys=True) + "\n"
    _write_atomically(catalogue_path, lambda f: f.write(text.encode()))


def _module_text(card):
    return (f'"""rnn-zoo model `{card["name"]}` version {card["version"]}: {card.get("description", card["task"])}.\n\n'
            f'Load it with `zoo.load("{card["name"]}")`; its files are the `{card["version"]}/` directory here."""\n')


def zoo_requirement(version: str = __version__) -> str:
    """What a model wheel requires: the rnn-zoo releases of this major version, from this minor one on.

    Only `rnn-zoo` is named: TensorFlow comes through its requirements (or as `tensorflow-cpu`, installed first).

    >>> zoo_requirement("1.4.2")
    'rnn-zoo>=1.4,<2'
    """
    major, minor = (int(part) for part in re.match(r"(\d+)\.(\d+)", version).groups())
    return f"rnn-zoo>={major}.{minor},<{major + 1}"


def _metadata(card):
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {distribution_name(card['name'])}",
        f"Version: {int(card['version'])}",
        f"Summary: rnn-zoo model {card['name']}: {card.get('description', card['task'])}",
        f"License: {card.get('license', 'see the model card')}",
        "Requires-Python: >=3.10",
        f"Requires-Dist: {zoo_requirement()}",
        "Description-Content-Type: text/markdown",
    ]
    description = f"The model card:\n\n```json\n{json.dumps(card, indent=2, ensure_ascii=False)}\n```\n"
    return "\n".join(lines) + "\n\n" + description


def _urlsafe_digest(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _write_zip(f, files):
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, _FIXED_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)


def _write_tar(f, version_dir):
    with tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in version_dir.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(path.relative_to(version_dir).as_posix())
            info.size, info.mode = path.stat().st_size, 0o644
            with path.open("rb") as data:
                tar.addfile(info, data)


def _write_atomically(out, write):
    """Writes `out` through a hidden partial file beside it, which no failure leaves behind."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        os.chmod(partial, 0o644)
        os.replace(partial, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
    return out
