"""zoo.registry: finding models under $ZOO_MODELS and saved_models/, resolving names and versions."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import artifacts, registry

REPO = Path(__file__).resolve().parent.parent


def _place(tiny, root, name, version, **card_changes):
    """A valid copy of the tiny export at `<root>/<name>/<version>`, with its card edited."""
    target = root / name / str(version)
    shutil.copytree(tiny.version_dir, target)
    card = json.loads((target / artifacts.CARD).read_text())
    card.update({"name": name, "version": version, **card_changes})
    (target / artifacts.CARD).write_text(json.dumps(card))
    (target / artifacts.MANIFEST).unlink()
    artifacts.write_manifest(target)
    artifacts.verify(target)
    return target


@pytest.fixture
def catalogue(tiny, tmp_path, monkeypatch):
    """Two $ZOO_MODELS roots and a stand-in for saved_models/:

    first/model_alpha/{1,2}  + a hidden .3.partial-* scratch dir
    first/only_partial/.1.partial-*
    second/model_alpha/1     (shadowed by first/)
    second/model_beta/1      (another task)
    bundled/model_gamma/1
    """
    first, second, bundled = tmp_path / "first", tmp_path / "second", tmp_path / "bundled"
    _place(tiny, first, "model_alpha", 1, description="alpha one")
    _place(tiny, first, "model_alpha", 2, description="alpha two")
    shutil.copytree(first / "model_alpha" / "2", first / "model_alpha" / ".3.partial-deadbeef")
    shutil.copytree(first / "model_alpha" / "1", first / "only_partial" / ".1.partial-cafef00d")
    _place(tiny, second, "model_alpha", 1, description="shadowed alpha")
    _place(tiny, second, "model_beta", 1, task="pos-tagging", description="beta")
    _place(tiny, bundled, "model_gamma", 1, description="gamma")
    (first / "not_a_model").mkdir()
    (first / "README.txt").write_text("not a model either")
    monkeypatch.setenv("ZOO_MODELS", os.pathsep.join([str(first), str(second)]))
    monkeypatch.setattr(registry, "CHECKOUT", bundled)
    return first, second, bundled


def test_checkout_root_is_the_checkouts_saved_models():
    assert registry.CHECKOUT == REPO / "saved_models"


def test_model_dirs_reads_zoo_models_in_order(monkeypatch, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("ZOO_MODELS", os.pathsep.join([str(a), "", str(b)]))
    assert registry.model_dirs() == [a, b]
    monkeypatch.delenv("ZOO_MODELS")
    assert registry.model_dirs() == []


def test_list_models_finds_every_root(catalogue):
    assert zoo.list_models() == ["model_alpha", "model_beta", "model_gamma"]


def test_list_models_filters_by_task(catalogue):
    assert zoo.list_models(task="sensor-classification") == ["model_alpha", "model_gamma"]
    assert zoo.list_models(task="pos-tagging") == ["model_beta"]
    assert zoo.list_models(task="no-such-task") == []


def test_earlier_root_wins(catalogue):
    first, _, _ = catalogue
    assert zoo.info("model_alpha")["description"] == "alpha two"
    assert registry.resolve("model_alpha") == first / "model_alpha" / "2"


def test_load_by_name_picks_the_newest_version(catalogue):
    model = zoo.load("model_alpha")
    assert model.card["version"] == 2
    assert model.card["description"] == "alpha two"


def test_load_an_older_version(catalogue):
    model = zoo.load("model_alpha", version=1)
    assert model.card["version"] == 1
    assert model.card["description"] == "alpha one"
    assert zoo.info("model_alpha", 1)["description"] == "alpha one"


def test_load_by_base_and_version_directory(catalogue):
    first, _, _ = catalogue
    assert zoo.load(first / "model_alpha").card["description"] == "alpha two"
    assert zoo.load(str(first / "model_alpha"), version=1).card["description"] == "alpha one"
    assert zoo.load(first / "model_alpha" / "1").card["description"] == "alpha one"
    assert zoo.load(str(first / "model_alpha" / "1")).card["version"] == 1


def test_loaded_model_predicts_like_the_exported_one(catalogue, tiny, rng):
    series = rng.normal(size=(2, 9, 3)).astype("float32")
    loaded = zoo.load("model_gamma").classify(series)
    original = tiny.model.classify(series)
    assert loaded.labels == original.labels
    np.testing.assert_allclose(loaded.scores, original.scores, rtol=1e-6, atol=1e-7)


def test_unknown_name_lists_a_close_match(catalogue):
    with pytest.raises(ValueError, match="Did you mean model_alpha") as err:
        zoo.load("model_alpah")
    assert "model_beta" in str(err.value)  # the catalogue is listed too
    with pytest.raises(ValueError, match="Unknown model"):
        zoo.info("completely-unrelated-zzz")


def test_unknown_version(catalogue):
    with pytest.raises(ValueError, match="model_alpha version 7 does not exist") as err:
        zoo.load("model_alpha", version=7)
    assert "on this machine: [1, 2]; published: none" in str(err.value)


def test_partial_directories_are_ignored(catalogue):
    first, _, _ = catalogue
    assert (first / "model_alpha" / ".3.partial-deadbeef" / "saved_model.pb").is_file()
    assert artifacts.version_dirs(first / "model_alpha") == {
        1: first / "model_alpha" / "1",
        2: first / "model_alpha" / "2",
    }
    assert "only_partial" not in zoo.list_models()
    with pytest.raises(ValueError):
        zoo.load("model_alpha", version=3)
    with pytest.raises(ValueError):
        zoo.load("only_partial")
    with pytest.raises(ValueError, match="no model version"):
        zoo.load(first / "only_partial")


def test_missing_roots_are_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_MODELS", str(tmp_path / "does-not-exist"))
    monkeypatch.setattr(registry, "CHECKOUT", tmp_path / "nor-this")
    assert zoo.list_models() == []
    with pytest.raises(ValueError, match="none found"):
        zoo.load("anything")
