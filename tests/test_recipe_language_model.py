"""recipes/language_model.py: the published flags, and the smoke run end to end on the real English text."""


import numpy as np
import pytest

import zoo
from fixtures.recipes import REPO, RecipeRunner, run_smoke
from zoo.datasets import constructed_agreement

SCRIPT = REPO / "recipes" / "language_model.py"


@pytest.fixture(scope="module")
def recipe_module():
    return RecipeRunner(SCRIPT).module()


@pytest.fixture(scope="module")
def toy_language_model():
    from zoo.language_model.model import LanguageModel

    return LanguageModel(["the", "keys"], list("thekys"), hidden=8, projection=8)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    # the old books alone: the modern corpus needs the 1.3 GB of packages the translator reads
    return run_smoke(tmp_path_factory, SCRIPT, "lm_english", args=["--corpora", "english"], timeout=600)


def test_default_flags_are_the_published_configuration(recipe_module):
    args = recipe_module.parse_args([])
    assert (args.hidden, args.projection, args.vocabulary_size) == (512, 128, 30_000)
    assert args.budget_minutes <= 150 and args.out is None
    assert args.corpora == ["english", "modern_english"]


def test_a_start_of_another_size_is_refused_before_training(recipe_module, monkeypatch, toy_language_model):
    monkeypatch.setattr(recipe_module.training, "pretrained", lambda reference: toy_language_model)
    args = recipe_module.parse_args(["--init-from", "lm_english==1"])
    with pytest.raises(SystemExit, match="--hidden 8 --projection 8; pass those"):
        recipe_module.build(args, ["the"], ["t"])


def test_a_start_gives_its_weights_and_keeps_its_characters_first(recipe_module, monkeypatch, toy_language_model):
    monkeypatch.setattr(recipe_module.training, "pretrained", lambda reference: toy_language_model)
    args = recipe_module.parse_args(["--init-from", "x", "--hidden", "8", "--projection", "8"])
    model = recipe_module.build(args, ["keys", "the", "files"], ["@", "t"])
    assert model.char_vocabulary == [*toy_language_model.char_vocabulary, "@"]
    np.testing.assert_array_equal(model.reader.weights[-1], toy_language_model.reader.weights[-1])


def test_smoke_run_exports_a_language_model_with_its_baseline(smoke):
    out = smoke.proc.stdout
    assert f"exported {smoke.version_dir}" in out and "3-gram Kneser-Ney test perplexity" in out
    model = zoo.load(smoke.version_dir)
    assert model.card["task"] == "language-model" and model.card["name"] == "lm_english"
    assert model.card["recipe_command"].startswith("python recipes/language_model.py ")
    test, baseline = model.card["test_metrics"], model.card["ngram_baseline"]
    assert test["perplexity"] > 1 and baseline["perplexity"] > 1 and baseline["order"] == 3
    agreement = model.card["constructed_agreement"]["by_construction"]
    assert set(agreement) == {e.construction for e in constructed_agreement.examples()}
    words = model.next_words("The keys to the", k=3)
    assert len(words) == 3 and all(np.isfinite(p) for _, p in words)
