"""The zoo's one tar reader: every member is checked here, whatever the Python version.

`tarfile`'s extraction filters are neither relied on nor called: they are
missing before Python 3.10.12 and 3.11.4 (`filter=` is a `TypeError` there)
and were bypassed by symbolic link chains before 3.11.13 (CVE-2025-4517).
`unpack` writes only regular files and directories with relative names
without `..`, at most `max_members` of them, whose sizes add up to no more
than a byte budget; files get no owner, mode or time from the archive. Model
version archives (`zoo.artifacts`) are plain tars, refused compressed before
anything is decompressed; the registries' tarballs (`zoo.datasets.registries`)
are gzip'ed, read as they decompress.

Example:

>>> import io, tarfile, tempfile
>>> from pathlib import Path
>>> scratch = Path(tempfile.mkdtemp())
>>> with tarfile.open(scratch / "a.tar", "w") as tar:
...     data = b"hello"
...     info = tarfile.TarInfo("package/readme.txt")
...     info.size = len(data)
...     tar.addfile(info, io.BytesIO(data))
>>> unpack(scratch / "a.tar", scratch / "out")
>>> (scratch / "out" / "package" / "readme.txt").read_text()
'hello'
"""

import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 10_000  # the most files and directories an archive may hold
MAX_EXPANSION = 100  # a compressed archive may unpack to at most this many times its size
_COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd",
               b"PK\x03\x04": "zip"}  # magic numbers of what a plain tar is not
_TAR_MAGIC, _TAR_MAGIC_AT = b"ustar", 257
_MEMBER_KINDS = {tarfile.SYMTYPE: "symbolic link", tarfile.LNKTYPE: "hard link", tarfile.CHRTYPE: "character device",
                 tarfile.BLKTYPE: "block device", tarfile.FIFOTYPE: "FIFO", tarfile.GNUTYPE_SPARSE: "sparse file"}


class ArchiveError(ValueError):
    """An archive that is not a tar of regular files and directories inside its destination, or not readable."""


def unpack(archive, destination, *, compressed=False, max_members=MAX_MEMBERS, hint=""):
    """Unpacks a tar archive into `destination`, a directory it creates.

    Args:
        archive: the tar file.
        destination: a directory that does not exist yet (its parents are made).
        compressed: a gzip, bzip2 or xz tar, read as it decompresses, its
            members' sizes adding up to at most `MAX_EXPANSION` times the
            archive's; otherwise a compressed file is refused unread and the
            members may add up to the archive's size (a plain tar stores every byte).
        max_members: the most members it may hold.
        hint: what a refusal of a compressed file adds (how to make a plain tar).

    Raises:
        ArchiveError: one line naming the archive and the first member refused,
            or why the archive cannot be read.
    """
    archive, destination = Path(archive), Path(destination)
    if not compressed:
        _refuse_compressed(archive, hint)
    budget = archive.stat().st_size * (MAX_EXPANSION if compressed else 1)
    destination.mkdir(parents=True)
    try:
        with tarfile.open(archive, mode="r:*" if compressed else "r:") as tar:
            for count, member in enumerate(tar, 1):
                refusal = _refusal(member, count, budget, max_members)
                if refusal:
                    raise ArchiveError(f"{archive.name}: member {member.name!r} refused: {refusal}")
                budget -= member.size
                _unpack_member(tar, member, destination, archive.name)
    except (tarfile.TarError, EOFError, zlib.error) as err:
        raise ArchiveError(f"{archive.name}: not a readable tar archive ({' '.join(str(err).split())})") from None


def _refuse_compressed(archive, hint):
    """Refuses a compressed file by its magic number, unless its first header is a tar's (`ustar` at byte 257)."""
    with open(archive, "rb") as f:
        start = f.read(_TAR_MAGIC_AT + len(_TAR_MAGIC))
    kind = next((kind for magic, kind in _COMPRESSED.items() if start.startswith(magic)), None)
    if kind and start[_TAR_MAGIC_AT:] != _TAR_MAGIC:
        raise ArchiveError(f"{archive.name}: {kind} data, not a plain tar{hint}")


def _refusal(member, count, budget, max_members):
    """Why `member`, the `count`-th of an archive with `budget` bytes left, may not be unpacked; `None` if it may."""
    path = PurePosixPath(member.name)
    if count > max_members:
        return f"more than {max_members} members"
    if not member.name or "\0" in member.name or path.is_absolute() or ".." in path.parts:
        return "an absolute name, or one leading outside the destination"
    if member.issparse() or not (member.isreg() or member.isdir()):
        kind = _MEMBER_KINDS.get(member.type, f"member of type {member.type!r}")
        return f"a {kind} (only regular files and directories are unpacked)"
    if member.size > budget:
        return f"{member.size} bytes, more than the archive holds"
    return None


def _unpack_member(tar, member, destination, archive_name):
    """Writes one checked member under `destination`, which holds no links: nothing can land outside it."""
    path = destination.joinpath(*PurePosixPath(member.name).parts)
    try:
        if member.isdir():
            path.mkdir(parents=True, exist_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with tar.extractfile(member) as data, open(path, "xb") as out:
            shutil.copyfileobj(data, out, 1 << 20)
    except (FileExistsError, NotADirectoryError):
        raise ArchiveError(f"{archive_name}: member {member.name!r} refused: it names a file twice, "
                           "or both a file and a directory") from None
