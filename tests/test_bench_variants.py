"""bench/variants.py: a bench's catalogue row is the published model only when it was trained with the bench's
flags, including flags the recipe gained after the model was trained."""

from pathlib import Path

import pytest

import zoo

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def variants(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.delenv("ZOO_MODELS", raising=False)
    import variants

    return variants


@pytest.fixture
def translator_flags(variants):
    """The translation bench's flags: the recipe's defaults, overridden by the published translator's card."""
    hyperparameters, source = variants.catalogue_hyperparameters(variants.load_recipe("recipes/translation.py"),
                                                                 "translate_es_en")
    assert source.startswith("model card of translate_es_en")
    return hyperparameters


def test_the_published_translator_is_its_own_catalogue_row(variants, translator_flags):
    hyperparameters = translator_flags
    card = zoo.info("translate_es_en")
    assert set(hyperparameters) - set(card["hyperparameters"]), "every flag is on the card: nothing to fall back on"
    attention, version_dir = variants.catalogue_version("translate_es_en", hyperparameters, "attention")
    assert attention == card["hyperparameters"]["attention"]
    assert version_dir == zoo.registry.resolve("translate_es_en")


@pytest.mark.parametrize("changed", [{"hidden": 128}, {"max_length_ratio": 3.0}])
def test_a_flag_the_published_translator_was_not_trained_with_is_named(variants, translator_flags, changed):
    with pytest.raises(SystemExit, match=f"trained with other flags: .*{next(iter(changed))}"):
        variants.catalogue_version("translate_es_en", {**translator_flags, **changed}, "attention")
