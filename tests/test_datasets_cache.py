"""The data cache's build-once files: one builder at a time, the others read what it wrote; a failed build
leaves nothing behind."""

import threading
import time

import pytest

from zoo.datasets import built_once, once, registries


def test_concurrent_builders_build_once_and_all_read_the_whole_file(tmp_path):
    target = tmp_path / "cache" / "table.tsv"
    builds, results = [], []

    def write(scratch):
        builds.append(threading.get_ident())
        with scratch.open("w") as out:
            for line in range(50):
                out.write(f"row {line}\n")
                time.sleep(0.002)  # slow enough for the other threads to arrive meanwhile

    threads = [threading.Thread(target=lambda: results.append(built_once(target, write).read_text()))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(builds) == 1
    assert results == ["".join(f"row {line}\n" for line in range(50))] * 4
    assert sorted(p.name for p in target.parent.iterdir()) == [".table.tsv.lock", "table.tsv"]


def test_a_failed_build_leaves_no_file_and_the_next_call_builds_it(tmp_path):
    target = tmp_path / "table.tsv"

    def broken(scratch):
        scratch.write_text("half")
        raise KeyboardInterrupt  # a kill in the middle

    with pytest.raises(KeyboardInterrupt):
        built_once(target, broken)
    assert not target.exists() and not list(tmp_path.glob("*.partial"))
    assert built_once(target, lambda scratch: scratch.write_text("whole")).read_text() == "whole"
    assert built_once(target, broken).read_text() == "whole"  # built: never written again


def test_a_built_file_is_read_without_taking_the_lock(tmp_path):
    target = tmp_path / "table.tsv"
    target.write_text("built")
    assert built_once(target, lambda scratch: pytest.fail("rebuilt")).read_text() == "built"
    assert [p.name for p in tmp_path.iterdir()] == ["table.tsv"]  # no lock file: a read-only cache is read


def test_a_registry_package_is_unpacked_by_one_process_while_the_other_waits(tmp_path, monkeypatch):
    package = registries.Package("npm", "toy", "1.0.0", "0" * 64)
    calls = []

    def unpack(archive, directory, compressed):
        calls.append(directory)
        directory.mkdir(parents=True)
        time.sleep(0.2)
        (directory / "file.txt").write_text("unpacked")

    monkeypatch.setattr(registries.archives, "unpack", unpack)
    threads = [threading.Thread(target=registries.unpacked, args=(package, tmp_path / "toy.tgz", tmp_path / "toy"))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(calls) == 1 and (tmp_path / "toy" / "file.txt").read_text() == "unpacked"


def test_the_lock_is_released_when_the_build_fails(tmp_path):
    def fail():
        raise ValueError

    with pytest.raises(ValueError):
        once(tmp_path / "entry", lambda: False, fail)
    done = threading.Event()
    thread = threading.Thread(target=lambda: once(tmp_path / "entry", lambda: False, done.set))
    thread.start()
    assert done.wait(timeout=5)
