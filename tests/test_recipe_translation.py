"""recipes/translation.py: the smoke run on the Bible, flags, users' own pairs, TFDS data, resuming after a kill."""

import shlex
from pathlib import Path

import pytest
import tensorflow as tf

import zoo
from zoo.datasets import bible

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RUN_LOCATION = {"workdir", "out", "version", "smoke", "name"}


@pytest.fixture(scope="module")
def recipe_module(translation_recipe):
    return translation_recipe.module()


def _write_pairs(path, pairs):
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return path


def test_flags(recipe_module, tmp_path):
    args = recipe_module.parse_args([
        "--attention", "additive", "--cell", "lstm", "--no-bidirectional", "--hidden", "32", "--embedding-dim", "24",
        "--vocabulary-size", "500", "--min-pair-count", "3", "--max-train-words", "30", "--label-smoothing", "0.2",
        "--average-epochs", "2", "--warmup-steps", "7", "--architecture", "transformer", "--stack", "2",
        "--heads", "2", "--feedforward", "64", "--budget-minutes", "1.5",
        "--dropout", "0.1", "--beam-width", "6", "--epochs", "3", "--batch-size", "8", "--learning-rate", "0.01",
        "--seed", "4", "--train-file", "a.tsv", "--validation-file", "b.tsv", "--test-file", "c.tsv",
        "--name", "translate_mine", "--init-from", "translate_es_en", "--workdir", str(tmp_path),
    ])
    assert (args.attention, args.cell, args.bidirectional, args.hidden, args.embedding_dim) == (
        "additive", "lstm", False, 32, 24)
    assert (args.vocabulary_size, args.min_pair_count, args.max_train_words, args.label_smoothing) == (500, 3, 30, 0.2)
    assert (args.average_epochs, args.warmup_steps, args.architecture, args.stack, args.heads, args.feedforward,
            args.budget_minutes) == (2, 7, "transformer", 2, 2, 64, 1.5)
    assert (args.dropout, args.beam_width, args.epochs, args.batch_size, args.learning_rate, args.seed) == (
        0.1, 6, 3, 8, 0.01, 4)
    assert (args.train_file, args.validation_file, args.test_file) == (Path("a.tsv"), Path("b.tsv"), Path("c.tsv"))
    assert (args.name, args.init_from, args.workdir, args.tfds) == ("translate_mine", "translate_es_en", tmp_path,
                                                                    None)
    for bad in (["--attention", "cosine"], ["--cell", "transformer"], ["--beam-width", "wide"],
                ["--architecture", "cnn"]):
        with pytest.raises(SystemExit):
            recipe_module.parse_args(bad)


def test_default_flags_and_the_cards_command_rebuild_the_published_model(recipe_module):
    """The defaults are the published network; its card's command adds the training budget (by the clock)."""
    card = zoo.info("translate_es_en")
    published = card["hyperparameters"]
    # every recipe had --layers, which the translator never read: it went with one config per task
    assert set(published) - set(vars(recipe_module.parse_args([]))) == {"layers"}
    published = {k: v for k, v in published.items() if k != "layers"}
    args = recipe_module.parse_args([])
    assert {k: v for k, v in vars(args).items() if k in published} == {**published, "budget_minutes": None}
    assert args.out is None
    command = shlex.split(card["recipe_command"])
    assert command[:2] == ["python", "recipes/translation.py"]
    args = recipe_module.parse_args(command[2:])
    assert {k: v for k, v in vars(args).items() if k in published} == published


def _toy_pairs():
    from zoo.datasets.parallel import ParallelText

    return ParallelText("t", "train", ["Dios dijo.", "dijo Dios: luz", "Luz."] * 3,
                        ["God said.", "And God said: light", "Light, the LORD."] * 3, list(range(9)))


def test_one_subword_vocabulary_covers_both_languages(recipe_module, tmp_path):
    from zoo.translation.subwords import SubwordEncoder, join_pieces

    args = recipe_module.parse_args(["--vocabulary-size", "60", "--min-pair-count", "2"])
    pieces, merges = recipe_module.subword_vocabulary(_toy_pairs(), args, tmp_path, {"run": 1},
                                                      tf.distribute.get_strategy())
    assert len(pieces) <= 60 and {"Dios</w>", "God</w>", "said</w>"} <= set(pieces)
    assert set("DiosdjluzGdaAnLhtOR.,:") <= {p.removesuffix("</w>") for p in pieces}  # every character of both
    words = SubwordEncoder(merges)(tf.ragged.constant([["Dios", "LORD", "Luz"]]))
    assert join_pieces(words.merge_dims(1, 2).to_tensor("")).numpy()[0].decode() == "Dios LORD Luz"


def test_a_run_keeps_its_subword_vocabulary(recipe_module, tmp_path, monkeypatch):
    """The BPE trainer breaks ties differently in every process: a rerun must read the vocabulary its weights
    were trained with, and a run with other flags must learn its own."""
    args = recipe_module.parse_args(["--vocabulary-size", "60", "--min-pair-count", "2"])
    strategy = tf.distribute.get_strategy()
    learned = recipe_module.subword_vocabulary(_toy_pairs(), args, tmp_path, {"run": 1}, strategy)
    learn = recipe_module.subwords.learn
    monkeypatch.setattr(recipe_module.subwords, "learn", lambda *a, **k: pytest.fail("learned again"))
    assert recipe_module.subword_vocabulary(_toy_pairs(), args, tmp_path, {"run": 1}, strategy) == learned
    calls = []
    monkeypatch.setattr(recipe_module.subwords, "learn", lambda *a: calls.append(a) or (["x"], []))
    assert recipe_module.subword_vocabulary(_toy_pairs(), args, tmp_path, {"run": 2}, strategy) == (["x"], [])
    assert len(calls) == 1 and learn is not recipe_module.subwords.learn


def test_the_verbatim_vocabulary_is_learned_on_masked_pairs(recipe_module, tmp_path):
    from zoo.datasets.parallel import ParallelText

    pairs = ParallelText("t", "train", ["usa --verbose con %s", "abre /etc/fstab ahora"] * 3,
                         ["use --verbose with %s", "open /etc/fstab now"] * 3, list(range(6)))
    args = recipe_module.parse_args(["--vocabulary-size", "80", "--min-pair-count", "1"])
    pieces, _ = recipe_module.subword_vocabulary(pairs, args, tmp_path, {"run": 1}, tf.distribute.get_strategy())
    assert "\ue000</w>" in pieces and not {"verbose</w>", "fstab</w>", "etc"} & set(pieces)


def test_both_corpora_are_drawn_batch_by_batch_with_the_bible_share(recipe_module, tiny_translator_factory):
    from zoo.datasets.parallel import ParallelText

    def part(name, words, count):
        return ParallelText(name, "train", [words] * count, [words] * count, list(range(count)))

    fitted = ParallelText.joined("both", "train", [part(bible.NAME, "Dios dijo.", 40),
                                                   part("gettext_es_en", "el perro come pan", 40)])
    model = tiny_translator_factory()
    batch_length = {}
    for share, steps in ((0.5, 400), (0.0, 0)):
        args = recipe_module.parse_args(["--bible-share", str(share), "--steps-per-epoch", str(steps)])
        batches = recipe_module.training_batches(args, fitted, model, 4)
        batch_length[share] = [int(x["source"].shape[1]) for x, *_ in batches.take(200)]
    # the two corpora have pieces of different lengths: each batch holds one of them, both come
    assert len(set(batch_length[0.5])) == 2 and len(batch_length[0.5]) == 200
    assert len(batch_length[0.0]) == 20  # one pass over the 80 pairs: no endless stream without steps per epoch
    with pytest.raises(SystemExit):
        recipe_module.parse_args(["--bible-share", "1.5"])


def test_the_vocabulary_digest_tells_vocabularies_apart(recipe_module):
    from zoo.translation import Translator

    def digest(pieces, merges):
        return recipe_module.vocabulary_digest(Translator(pieces, merges, hidden=4, embedding_dim=4))

    assert digest(["a", "b</w>"], ["a b</w>"]) == digest(["a", "b</w>"], ["a b</w>"])
    assert digest(["a", "b</w>"], ["a b</w>"]) != digest(["b</w>", "a"], ["a b</w>"])  # the same pieces, other ids
    assert digest(["a", "b</w>"], ["a b</w>"]) != digest(["a", "b</w>"], [])


# --- the smoke run (Bible verses) -------------------------------------------------------------------


@pytest.mark.slow
def test_smoke_run_exports_a_loadable_translator(translation_smoke):
    proc = translation_smoke.proc
    assert f"exported {translation_smoke.version_dir}" in proc.stdout
    assert "bible_es_en: 400 train pairs" in proc.stdout and "Epoch 2/2" in proc.stdout
    assert "test: BLEU" in proc.stdout and "test_greedy: BLEU" in proc.stdout
    model = zoo.load(translation_smoke.version_dir)
    assert model.card["name"] == "translate_es_en" and model.card["task"] == "translation"
    (translation,) = model.translate(["En el principio creó Dios los cielos y la tierra."])
    assert isinstance(translation, str)


def test_smoke_card(translation_smoke):
    card = zoo.info(translation_smoke.version_dir)
    dataset = card["dataset"]
    assert dataset["name"] == "bible_es_en" and dataset["sha256"] == bible.describe()["sha256"]
    assert "crc32" in dataset["split"] and dataset["examples"]["test"] == 40
    for key in ("test_metrics", "test_metrics_greedy", "validation_metrics", "test_slice_metrics"):
        metrics = card[key]
        assert 0 <= metrics["bleu"] <= 100 and 0 <= metrics["chrf"] <= 100, key
        assert metrics["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert card["test_metrics"]["sentences"] == 40 and card["test_metrics"]["beam_width"] == 4
    assert card["test_metrics_greedy"]["beam_width"] == 1
    assert card["test_metrics"]["up_to_40_words"]["sentences"] <= 40
    command = card["recipe_command"]
    assert command.startswith("python recipes/translation.py ") and "--smoke" in command
    hyper = card["hyperparameters"]
    assert not RUN_LOCATION & set(hyper)
    assert (hyper["epochs"], hyper["hidden"], hyper["embedding_dim"], hyper["attention"]) == (2, 16, 16, "dot")
    averaged = card["epochs_averaged_search"]  # validation greedy BLEU of the last 1 and 2 epochs' mean
    assert sorted(averaged) == ["1", "2"] and averaged[str(card["epochs_averaged"])] == max(averaged.values())
    assert "CPU cores" in card["trained_on"]
    assert card["intended_use"].startswith("Spanish → English for Bible verses")  # the smoke run reads the Bible
    assert "software" not in card["intended_use"]
    examples = card["limitations"]["out_of_domain_examples"]  # what it makes of modern Spanish, for the reader
    assert "¿Dónde está la biblioteca?" in examples and all(isinstance(t, str) for t in examples.values())
    names = card["test_metrics"]["names_kept"]
    assert 0 <= names["kept"] <= names["of"] and names["of"] > 0
    search = card["length_penalty_search"]  # validation BLEU of each candidate; the best is exported
    assert [float(p) for p in search] == [0.0, 0.3, 0.6, 1.0] and hyper["length_penalty"] is None
    assert search[f"{card['length_penalty']:g}"] == max(search.values())
    assert card["license"].startswith("Apache-2.0") and "public domain" in card["license"]


def test_smoke_workdir(translation_smoke, translation_recipe):
    work = translation_smoke.workdir
    for png in ("curves.png", "attention.png"):
        assert (work / png).read_bytes()[:8] == PNG_MAGIC, png
    assert translation_recipe.logged_epochs(work) == [0, 1]
    assert list((work / "logs" / "train").glob("events.out.tfevents.*"))
    assert not (work / "backup").exists()


@pytest.mark.slow
def test_smoke_model_reproduces_its_card(translation_smoke):
    from zoo.translation.evaluation import evaluate

    model = zoo.load(translation_smoke.version_dir)
    got = evaluate(model, bible.load("test").take(40))
    assert got["bleu"] == model.card["test_metrics"]["bleu"] and got["chrf"] == model.card["test_metrics"]["chrf"]


# --- your own pairs -------------------------------------------------------------------------------


@pytest.mark.slow
def test_validation_and_test_files_go_together(translation_recipe, tmp_path, trained_translator):
    path = _write_pairs(tmp_path / "pairs.tsv", trained_translator.pairs)
    proc = translation_recipe.run(["--train-file", path, "--validation-file", path, "--smoke",
                                   "--out", tmp_path / "out", "--workdir", tmp_path / "work"], timeout=200)
    assert proc.returncode != 0 and "--validation-file and --test-file go together" in proc.stderr


def test_tfds_translation_sets_are_read_as_pairs():
    import tensorflow_datasets as tfds

    from zoo.datasets.parallel import from_tfds

    with tfds.testing.mock_data(num_examples=6):
        data = from_tfds("ted_hrlr_translate/pt_to_en", "train")
    assert len(data) == 6 and data.name == "ted_hrlr_translate/pt_to_en"
    assert all(isinstance(s, str) for s in data.sources + data.targets)
    assert data.references[0] == "ted_hrlr_translate/pt_to_en/train:0"


@pytest.mark.slow
def test_train_file_resumes_after_a_kill_and_its_card_reproduces(translation_recipe, tmp_path, trained_translator):
    data = _write_pairs(tmp_path / "toy pairs.tsv", trained_translator.pairs * 4)
    work, out = tmp_path / "work", tmp_path / "models"
    epochs_total = 6
    args = ["--train-file", data, "--hidden", "8", "--embedding-dim", "8", "--vocabulary-size", "60", "--epochs",
            epochs_total, "--steps-per-epoch", "40", "--batch-size", "8", "--patience", "1000", "--length-penalty", "1",
            "--workdir", work, "--out", out]
    before = translation_recipe.kill_after_epochs(args, work, 2, timeout=300)
    assert 2 <= len(before) < epochs_total and before == list(range(len(before)))
    assert not (out / "translate_toy_pairs" / "1").exists()
    translation_recipe.assert_resumed(translation_recipe.run(args, timeout=400), work, before, epochs_total)
    model = zoo.load(out / "translate_toy_pairs")
    card = model.card
    assert card["version"] == 1 and card["hyperparameters"]["epochs"] == epochs_total
    assert (card["length_penalty"], card["length_penalty_search"], model.length_penalty) == (1.0, None, 1.0)
    assert card["dataset"]["files"] == {"all": str(data)} and "crc32" in card["dataset"]["split"]
    assert "the user's own" in card["license"]
    examples = card["dataset"]["examples"]
    assert examples["train"] + examples["validation"] + examples["test"] == len(trained_translator.pairs) * 4
    metrics = model.evaluate_split("test")  # rebuilt from the card's own dataset section
    assert metrics["bleu"] == card["test_metrics"]["bleu"] and metrics["sentences"] == examples["test"]
