"""zoo.packaging and the registry's other places: model wheels installed with pip, archives downloaded over
HTTP into the cache, and the order in which a name is looked for."""

import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

import zoo
from zoo import artifacts, packaging, registry
from zoo.cli import main

REPO = Path(__file__).resolve().parent.parent


def _renamed(tiny, root, name, version):
    """The tiny export copied to `<root>/<name>/<version>` with its card saying so."""
    target = root / name / str(version)
    shutil.copytree(tiny.version_dir, target)
    card = json.loads((target / artifacts.CARD).read_text())
    (target / artifacts.CARD).write_text(json.dumps({**card, "name": name, "version": version}))
    (target / artifacts.MANIFEST).unlink()
    artifacts.write_manifest(target)
    return target


@pytest.fixture
def nowhere_else(tmp_path, monkeypatch):
    """No $ZOO_MODELS, no checkout models, an empty cache."""
    monkeypatch.delenv("ZOO_MODELS", raising=False)
    monkeypatch.setattr(registry, "CHECKOUT", None)
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "zoo_home"))


def test_wheel_holds_the_version_an_entry_point_and_a_valid_record(tiny, tmp_path):
    version_dir = _renamed(tiny, tmp_path / "models", "sensor_tiny", 3)
    wheel = packaging.build_wheel(version_dir, tmp_path / "dist")
    assert wheel.name == "rnn_zoo_model_sensor_tiny-3-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = "rnn_zoo_model_sensor_tiny-3.dist-info"
        assert "zoo_model_sensor_tiny/3/saved_model.pb" in names
        assert archive.read(f"{dist_info}/entry_points.txt").decode() == (
            "[zoo.models]\nsensor_tiny = zoo_model_sensor_tiny\n")
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        assert "Name: rnn-zoo-model-sensor-tiny\nVersion: 3\n" in metadata
        # this major version of the zoo, whichever TensorFlow distribution (tensorflow, tensorflow-cpu) it runs on
        requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
        assert requirements == [f"Requires-Dist: {packaging.zoo_requirement(zoo.__version__)}"]
        assert packaging.zoo_requirement("0.1.0") == "rnn-zoo>=0.1,<1"
        record = archive.read(f"{dist_info}/RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if path.endswith("RECORD"):
                assert digest == size == ""
                continue
            data = archive.read(path)
            assert int(size) == len(data)
            assert digest == "sha256=" + packaging._urlsafe_digest(data)
        assert len(record) == len(names)


def test_the_same_version_packs_into_the_same_bytes(tiny, tmp_path):
    version_dir = _renamed(tiny, tmp_path / "models", "sensor_tiny", 1)
    first = packaging.build_archive(version_dir, tmp_path / "a").read_bytes()
    os.utime(version_dir / "saved_model.pb", (1, 1))  # file times are not part of an archive
    assert packaging.build_archive(version_dir, tmp_path / "b").read_bytes() == first
    assert packaging.build_wheel(version_dir, tmp_path / "a").read_bytes() == packaging.build_wheel(
        version_dir, tmp_path / "b").read_bytes()


def test_a_corrupt_version_is_not_packaged(tiny, tmp_path):
    version_dir = _renamed(tiny, tmp_path / "models", "sensor_tiny", 1)
    with open(version_dir / "saved_model.pb", "ab") as f:
        f.write(b"\0")
    with pytest.raises(zoo.CorruptModelError):
        packaging.build_wheel(version_dir, tmp_path / "dist")
    assert not list((tmp_path / "dist").glob("*.whl"))


@pytest.mark.slow
def test_an_installed_model_wheel_is_found_loaded_and_verified(tiny, tmp_path):
    """pip installs the wheel offline; a fresh process finds it through the entry point, by name alone."""
    version_dir = _renamed(tiny, tmp_path / "models", "sensor_tiny", 2)
    wheel = packaging.build_wheel(version_dir, tmp_path / "dist")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], check=True, timeout=120)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(REPO)]), "ZOO_MODELS": ""}
    script = ("import zoo, numpy as np; m = zoo.load('sensor_tiny'); "
              "print(zoo.list_models(), m.card['version'], m.classify(np.zeros((5, 3))).labels)")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "'sensor_tiny'" in done.stdout and " 2 [" in done.stdout
    installed = target / "zoo_model_sensor_tiny" / "2"
    assert registry.resolve(installed) == installed
    with open(installed / "saved_model.pb", "ab") as f:
        f.write(b"\0")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "CorruptModelError" in done.stderr


def test_resolution_order(tiny, tmp_path, monkeypatch, nowhere_else):
    """$ZOO_MODELS, then installed packages, then the checkout, then the cache; a version is looked for in each."""
    first = _renamed(tiny, tmp_path / "env", "sensor_tiny", 1)
    package = _renamed(tiny, tmp_path / "package", "sensor_tiny", 2)
    checkout = _renamed(tiny, tmp_path / "checkout", "sensor_tiny", 3)
    cached = _renamed(tiny, registry.cache(), "sensor_tiny", 4)
    monkeypatch.setenv("ZOO_MODELS", str(first.parent.parent))
    monkeypatch.setattr(registry, "installed_packages", lambda: {"sensor_tiny": package.parent})
    monkeypatch.setattr(registry, "CHECKOUT", checkout.parent.parent)
    assert registry.resolve("sensor_tiny") == first  # the first place wins, though its version is the oldest
    assert [registry.resolve("sensor_tiny", v) for v in (1, 2, 3, 4)] == [first, package, checkout, cached]
    monkeypatch.delenv("ZOO_MODELS")
    assert registry.resolve("sensor_tiny") == package
    monkeypatch.setattr(registry, "installed_packages", dict)
    assert registry.resolve("sensor_tiny") == checkout
    monkeypatch.setattr(registry, "CHECKOUT", None)
    assert registry.resolve("sensor_tiny") == cached


@pytest.fixture
def model_server(tmp_path):
    """A loopback HTTP server over `tmp_path/www`; yields its base URL and directory."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/models", www
    server.shutdown()
    server.server_close()


@pytest.fixture
def published(tiny, tmp_path, model_server, monkeypatch, nowhere_else):
    """`sensor_tiny` v5 archived, served, and listed in a stand-in catalogue."""
    url, www = model_server
    archive = packaging.build_archive(_renamed(tiny, tmp_path / "release", "sensor_tiny", 5), www / "models")
    packaging.record_in_catalogue(tmp_path / "catalogue.json", archive)
    catalogue = json.loads((tmp_path / "catalogue.json").read_text())
    monkeypatch.setattr(registry, "catalogue", lambda: catalogue)
    monkeypatch.setenv("ZOO_MODELS_URL", url)
    return archive, catalogue


def test_catalogue_entry_names_the_archive_its_sha256_and_size(published):
    archive, catalogue = published
    assert catalogue == {"sensor_tiny": {"5": {"archive": "sensor_tiny-5.tar",
                                               "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
                                               "size": archive.stat().st_size}}}


def test_a_missing_model_says_how_to_get_it(published):
    with pytest.raises(ValueError, match=r"zoo download sensor_tiny` \(\$ZOO_MODELS_URL") as err:
        zoo.load("sensor_tiny")
    assert "published: [5]" in str(err.value) and "zoo package sensor_tiny" in str(err.value)
    with pytest.raises(ValueError, match="sensor_tiny version 4 does not exist"):
        zoo.load("sensor_tiny", version=4, download=True)


def test_load_downloads_into_the_cache_once(published, tiny):
    model = zoo.load("sensor_tiny", download=True)
    target = registry.cache() / "sensor_tiny" / "5"
    assert model.card["version"] == 5 and registry.resolve("sensor_tiny") == target
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no scratch left
    published[0].unlink()  # the server no longer has it: the cached copy is used
    assert zoo.load("sensor_tiny", download=True).card["version"] == 5
    assert registry.download("sensor_tiny") == target


def test_an_archive_that_does_not_match_its_sha256_is_refused(published):
    archive, _ = published
    with open(archive, "ab") as f:
        f.write(b"\0" * 512)
    with pytest.raises(OSError, match="sensor_tiny"):
        registry.download("sensor_tiny")
    assert not (registry.cache() / "sensor_tiny" / "5").exists()


def test_download_needs_a_base_url(published, monkeypatch):
    monkeypatch.delenv("ZOO_MODELS_URL")
    with pytest.raises(ValueError, match=r"\$ZOO_MODELS_URL is unset"):
        registry.download("sensor_tiny")


def test_download_command(published, capsys):
    assert main(["download", "sensor_tiny"]) == 0
    assert capsys.readouterr().out.strip().endswith(str(Path("sensor_tiny") / "5"))
    assert main(["download", "no_such_model"]) == 2
    assert "Unknown model 'no_such_model'" in capsys.readouterr().err


def test_package_command(tiny, tmp_path, capsys):
    version_dir = _renamed(tiny, tmp_path / "models", "sensor_tiny", 1)
    assert main(["package", str(version_dir), "--out", str(tmp_path / "dist")]) == 0
    assert Path(capsys.readouterr().out.strip()).name == "rnn_zoo_model_sensor_tiny-1-py3-none-any.whl"
    catalogue = tmp_path / "catalogue.json"
    assert main(["package", str(version_dir), "--format", "archive", "--out", str(tmp_path / "dist"),
                 "--catalogue", str(catalogue)]) == 0
    assert json.loads(catalogue.read_text())["sensor_tiny"]["1"]["archive"] == "sensor_tiny-1.tar"


def test_packaging_into_the_catalogue_drops_the_versions_retired_since(tiny, tmp_path, capsys):
    catalogue = tmp_path / "catalogue.json"
    archive = ["--format", "archive", "--out", str(tmp_path / "dist"), "--catalogue", str(catalogue)]
    for version in (1, 2):
        assert main(["package", str(_renamed(tiny, tmp_path / "models", "sensor_tiny", version)), *archive]) == 0
    other = _renamed(tiny, tmp_path / "elsewhere", "sensor_other", 1)
    assert main(["package", str(other), *archive]) == 0
    shutil.rmtree(tmp_path / "models" / "sensor_tiny" / "1")  # retired to git history
    _renamed(tiny, tmp_path / "models", "sensor_tiny", 3)  # published but never packaged: no entry made up for it
    assert main(["package", str(tmp_path / "models" / "sensor_tiny" / "2"), *archive]) == 0
    entries = json.loads(catalogue.read_text())
    assert set(entries["sensor_tiny"]) == {"2"} and set(entries["sensor_other"]) == {"1"}


def test_the_shipped_catalogue_lists_every_published_version_with_its_archive_hash(tmp_path):
    """`zoo/catalogue.json` is rebuilt by `zoo package ... --format archive --catalogue zoo/catalogue.json`."""
    for base in sorted(p for p in (REPO / "saved_models").iterdir() if artifacts.version_dirs(p)):
        for version_dir in artifacts.version_dirs(base).values():
            archive = packaging.build_archive(version_dir, tmp_path)
            packaging.record_in_catalogue(tmp_path / "catalogue.json", archive)
    expected = json.loads((tmp_path / "catalogue.json").read_text())
    assert registry.catalogue() == expected
