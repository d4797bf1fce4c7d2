"""The committed pretrained models in saved_models/: present, intact, small, and as good as their cards say."""

import pytest

import zoo
from zoo import artifacts, registry

EXPECTED = ("sensor_basic_motions", "sensor_japanese_vowels")
MB = 1 << 20


@pytest.fixture(autouse=True)
def only_the_committed_models(monkeypatch):
    monkeypatch.delenv("ZOO_MODELS", raising=False)


def _size(path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_the_sensor_models_are_committed():
    names = zoo.list_models(task="sensor-classification")
    for name in EXPECTED:
        assert name in names, f"{name} missing from saved_models/ (found {names})"
        assert registry.resolve(name).is_relative_to(registry.BUNDLED)


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_pretrained_reproduces_its_test_accuracy(name):
    model = zoo.load(name)  # verifies every file against the manifest
    card = model.card
    metrics = model.evaluate_split("test")
    assert metrics["accuracy"] == card["test_metrics"]["accuracy"]
    assert metrics["examples"] == card["test_metrics"]["examples"]
    assert metrics["confusion_matrix"] == card["test_metrics"]["confusion_matrix"]


@pytest.mark.parametrize("name", EXPECTED)
def test_pretrained_card(name):
    card = zoo.info(name)
    for key in ("dataset", "test_metrics", "recipe_command", "license"):
        assert card.get(key), key
    assert card["name"] == name and card["task"] == "sensor-classification"
    assert card["recipe_command"].startswith("python recipes/sensor_classification.py")
    assert "--smoke" not in card["recipe_command"]
    assert card["dataset"]["files_sha256"]
    assert set(card["signatures"]) == {"serving_default", "classify_padded"}


def test_pretrained_sizes():
    assert registry.BUNDLED.is_dir(), "saved_models/ is not committed"
    for name in zoo.list_models():
        base = registry.resolve(name).parent
        for number, version_dir in artifacts.version_dirs(base).items():
            assert _size(version_dir) < 30 * MB, f"{name}/{number} is {_size(version_dir) / MB:.1f} MB"
    assert _size(registry.BUNDLED) < 100 * MB
