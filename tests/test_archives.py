"""The zoo's one tar reader on the registries' gzip'ed tarballs (the model archives' probes are in
test_hostile_downloads.py): hostile members refused in one line, nothing written outside, a bomb stopped, a
killed unpacking redone."""

import gzip
import io
import re
import tarfile

import pytest

from zoo import archives
from zoo.datasets import registries


def _tarball(path, *members):
    """A gzip'ed tar of `(TarInfo, data)` members at `path`."""
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"text"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def test_a_registry_tarball_unpacks_its_files(tmp_path):
    tarball = _tarball(tmp_path / "p.tgz", _file("package/data/a.txt", b"alpha"), _file("package/b.txt", b"beta"))
    archives.unpack(tarball, tmp_path / "out", compressed=True)
    assert (tmp_path / "out/package/data/a.txt").read_bytes() == b"alpha"
    assert (tmp_path / "out/package/b.txt").read_bytes() == b"beta"


@pytest.mark.parametrize("member,refusal", [
    (_file("../escaped.txt"), "an absolute name, or one leading outside the destination"),
    (_file("/etc/escaped.txt"), "an absolute name, or one leading outside the destination"),
    (_link("package/link", "/etc/passwd"), "a symbolic link (only regular files and directories are unpacked)"),
    (_link("package/hard", "/etc/passwd", tarfile.LNKTYPE), "a hard link"),
])
def test_a_hostile_member_is_refused_in_one_line_and_nothing_lands_outside(tmp_path, member, refusal):
    tarball = _tarball(tmp_path / "p.tgz", _file("package/ok.txt"), member)
    with pytest.raises(archives.ArchiveError, match=f"^p.tgz: member .* refused: {re.escape(refusal)}"):
        archives.unpack(tarball, tmp_path / "out" / "here", compressed=True)
    assert not (tmp_path / "out" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert not list((tmp_path / "out" / "here").rglob("*link*"))


def test_a_bomb_stops_at_a_hundred_times_the_tarball(tmp_path):
    zeros = b"\0" * (8 << 20)  # compresses about a thousandfold
    tarball = _tarball(tmp_path / "bomb.tgz", _file("package/zeros", zeros))
    assert tarball.stat().st_size * archives.MAX_EXPANSION < len(zeros)
    with pytest.raises(archives.ArchiveError, match="bytes, more than the archive holds"):
        archives.unpack(tarball, tmp_path / "out", compressed=True)


@pytest.mark.parametrize("content,expected", [
    (b"not a tarball at all", "not a readable tar archive"),
    (gzip.compress(b"x" * 100, mtime=0)[:30], "not a readable tar archive"),
], ids=["not a tarball", "a cut gzip stream"])
def test_a_corrupt_tarball_is_one_line(tmp_path, content, expected):
    (tmp_path / "bad.tgz").write_bytes(content)
    with pytest.raises(archives.ArchiveError, match=f"^bad.tgz: {expected}"):
        archives.unpack(tmp_path / "bad.tgz", tmp_path / "out", compressed=True)


def test_a_plain_archive_refuses_compressed_data_unread(tmp_path):
    tarball = _tarball(tmp_path / "p.tgz", _file("package/a.txt"))
    with pytest.raises(archives.ArchiveError, match=r"^p.tgz: gzip data, not a plain tar \(make a plain one\)$"):
        archives.unpack(tarball, tmp_path / "out", hint=" (make a plain one)")
    assert not (tmp_path / "out").exists()


def test_a_registry_package_is_unpacked_once_and_a_killed_unpacking_is_redone(tmp_path):
    package = registries.Package("npm", "toy", "1.0.0", "0" * 64)
    tarball = _tarball(tmp_path / package.file_name, _file("package/a.txt", b"alpha"))
    left_over = tmp_path / "toy"
    (left_over / "package").mkdir(parents=True)
    (left_over / "package" / "half.txt").write_bytes(b"half")  # killed before its marker was written
    directory = registries.unpacked(package, tarball, left_over)
    assert sorted(p.name for p in (directory / "package").iterdir()) == ["a.txt"]
    (directory / "package" / "a.txt").write_bytes(b"kept")
    assert registries.unpacked(package, tarball, left_over) == directory
    assert (directory / "package" / "a.txt").read_bytes() == b"kept"  # the marker says it is done: not redone
