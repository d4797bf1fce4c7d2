"""zoo.artifacts: a model version on disk — manifest, verification, atomic write, killed exports."""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import zoo
from zoo import artifacts, registry


def _partials(base):
    return sorted(p.name for p in base.iterdir() if p.name.startswith(".") and ".partial-" in p.name)


# --- the layout and the manifest -------------------------------------------------------------


def test_export_writes_the_tf_serving_layout(tiny):
    v = tiny.version_dir
    for rel in ("saved_model.pb", "variables/variables.index", artifacts.CARD, artifacts.KERAS_CONFIG,
                artifacts.WARMUP, artifacts.MANIFEST):
        assert (v / rel).is_file(), rel
    assert artifacts.version_dirs(tiny.base) == {1: v}
    assert _partials(tiny.base) == []


def test_manifest_lists_every_other_file_with_its_sha256(tiny):
    v = tiny.version_dir
    listed = json.loads((v / artifacts.MANIFEST).read_text())["sha256"]
    on_disk = {p.relative_to(v).as_posix() for p in v.rglob("*") if p.is_file()} - {artifacts.MANIFEST}
    assert set(listed) == on_disk
    for rel, digest in listed.items():
        assert hashlib.sha256((v / rel).read_bytes()).hexdigest() == digest, rel
    artifacts.verify(v)  # a fresh export verifies


def test_corrupt_model_error_is_a_value_error():
    assert issubclass(zoo.CorruptModelError, ValueError)
    assert zoo.CorruptModelError is artifacts.CorruptModelError


# --- corruption is caught by zoo.load ----------------------------------------------------------


def test_flipped_byte_in_variables_is_caught(tiny, copy_version):
    v = copy_version(tiny.version_dir)
    data = sorted((v / "variables").glob("variables.data-*"))[0]
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(zoo.CorruptModelError, match=data.name) as err:
        zoo.load(v)
    assert "sha256" in str(err.value)
    assert str(data) in str(err.value)


def test_missing_manifest_is_caught(tiny, copy_version):
    v = copy_version(tiny.version_dir)
    (v / artifacts.MANIFEST).unlink()
    with pytest.raises(zoo.CorruptModelError, match="manifest"):
        zoo.load(v)


def test_unreadable_manifest_is_caught(tiny, copy_version):
    v = copy_version(tiny.version_dir)
    (v / artifacts.MANIFEST).write_text("{not json")
    with pytest.raises(zoo.CorruptModelError, match="manifest.json"):
        zoo.load(v)


def test_extra_file_is_caught(tiny, copy_version):
    v = copy_version(tiny.version_dir)
    (v / "variables" / "sneaky.bin").write_bytes(b"\x00" * 10)
    with pytest.raises(zoo.CorruptModelError, match="sneaky.bin"):
        zoo.load(v)


def test_missing_listed_file_is_caught(tiny, copy_version):
    v = copy_version(tiny.version_dir)
    (v / "variables" / "variables.index").unlink()
    with pytest.raises(zoo.CorruptModelError, match="variables.index"):
        zoo.load(v)


def test_truncated_keras_model_is_caught(copy_version):
    v = copy_version(zoo.registry.resolve("pos_brown_fine", 1))  # published with a full Keras copy
    keras_file = v / artifacts.KERAS_MODEL
    keras_file.write_bytes(keras_file.read_bytes()[:100])
    with pytest.raises(zoo.CorruptModelError, match="model.keras"):
        zoo.load(v)


def test_weights_are_stored_once_even_where_variable_names_repeat(tiny):
    v = tiny.version_dir  # the tiny sensor model's TF variable names repeat
    assert (v / artifacts.KERAS_CONFIG).exists() and not (v / artifacts.KERAS_MODEL).exists()
    assert zoo.load(v).weights_digest() == tiny.model.weights_digest()


@pytest.mark.parametrize("exported", ["tiny", pytest.param("trained_translator", marks=pytest.mark.slow)])
def test_each_signature_s_graph_is_stored_once(exported, request):
    """The signature TF Serving calls and the function `tf.saved_model.load` restores are one trace: the
    SavedModel holds one `__inference_<signature>_...` function per signature, not a second copy of the model."""
    from tensorflow.core.protobuf import saved_model_pb2

    export = request.getfixturevalue(exported)
    saved = saved_model_pb2.SavedModel.FromString((export.version_dir / "saved_model.pb").read_bytes())
    library = [f.signature.name for f in saved.meta_graphs[0].graph_def.library.function]
    for name in export.model.signatures:
        traces = [f for f in library if re.fullmatch(rf"__inference_{name}_\d+", f)]
        assert len(traces) == 1, (name, traces)


def test_a_saved_model_missing_the_keras_weights_is_refused(tiny, copy_version):
    v = copy_version(tiny.version_dir)
    architecture = json.loads((v / artifacts.KERAS_CONFIG).read_text())
    (v / artifacts.KERAS_CONFIG).write_text(json.dumps({**architecture, "stored": architecture["stored"] + [True]}))
    artifacts.write_manifest(v)
    with pytest.raises(zoo.CorruptModelError, match="weights"):
        zoo.load(v)


def test_a_translator_stores_its_weights_once_and_loads_them_exactly(trained_translator, copy_version):
    v = trained_translator.version_dir
    assert (v / artifacts.KERAS_CONFIG).exists() and not (v / artifacts.KERAS_MODEL).exists()
    assert zoo.load(v).weights_digest() == trained_translator.model.weights_digest()
    broken = copy_version(v)
    (broken / artifacts.KERAS_CONFIG).write_bytes((broken / artifacts.KERAS_CONFIG).read_bytes()[:100])
    with pytest.raises(zoo.CorruptModelError, match="config.json"):
        zoo.load(broken)


@pytest.mark.slow
def test_versions_written_before_the_weight_collection_still_load():
    old = zoo.registry.resolve("pos_brown_fine", 1)  # a full Keras copy
    assert (old / artifacts.KERAS_MODEL).exists() and not (old / artifacts.KERAS_CONFIG).exists()
    assert zoo.load(old).tag(["It works."])[0]
    by_name = zoo.registry.resolve("translate_es_en", 5)  # weights found by their unique variable names
    assert "variables" in json.loads((by_name / artifacts.KERAS_CONFIG).read_text())
    assert zoo.load(by_name).translate(["Hola."])[0]


def test_altered_card_is_caught(tiny, copy_version):
    v = copy_version(tiny.version_dir)
    card = json.loads((v / artifacts.CARD).read_text())
    card["test_metrics"] = {"accuracy": 1.0}
    (v / artifacts.CARD).write_text(json.dumps(card))
    with pytest.raises(zoo.CorruptModelError, match="model_card.json"):
        zoo.load(v)


def test_the_shared_export_is_still_intact(tiny):
    """The corruption tests above worked on copies."""
    artifacts.verify(tiny.version_dir)


# --- atomic versions ----------------------------------------------------------------------------


def test_atomic_version_renames_into_place(tmp_path):
    base = tmp_path / "model"
    with artifacts.atomic_version(base, 3) as scratch:
        assert scratch.parent == base and scratch.name.startswith(".3.partial-")
        (scratch / "saved_model.pb").write_bytes(b"pb")
        assert artifacts.version_dirs(base) == {}  # invisible while being written
    assert artifacts.version_dirs(base) == {3: base / "3"}
    assert _partials(base) == []
    artifacts.verify(base / "3")
    assert json.loads((base / "3" / artifacts.MANIFEST).read_text())["sha256"] == {
        "saved_model.pb": hashlib.sha256(b"pb").hexdigest()
    }


def test_exception_inside_atomic_version_leaves_nothing(tmp_path):
    base = tmp_path / "model"
    with pytest.raises(RuntimeError, match="boom"):
        with artifacts.atomic_version(base, 1) as scratch:
            (scratch / "saved_model.pb").write_bytes(b"half")
            (scratch / "variables").mkdir()
            raise RuntimeError("boom")
    assert list(base.iterdir()) == []
    assert artifacts.version_dirs(base) == {}


def test_export_onto_an_existing_version_raises(tiny, tmp_path, copy_version):
    v = copy_version(tiny.version_dir, name="sensor_tiny", version=1)
    before = (v / artifacts.MANIFEST).read_bytes()
    with pytest.raises(FileExistsError, match="already exists"):
        tiny.model.export_serving(v.parent, version=1)
    assert (v / artifacts.MANIFEST).read_bytes() == before
    artifacts.verify(v)
    assert _partials(v.parent) == []


def test_export_picks_the_next_free_version(tiny, copy_version):
    v = copy_version(tiny.version_dir, name="sensor_tiny", version=4)
    assert artifacts.next_version(v.parent) == 5
    path = tiny.model.export_serving(v.parent)
    assert path == v.parent / "5"
    assert zoo.load(path).card["version"] == 5


@pytest.mark.parametrize("version", [0, -1])
def test_export_refuses_non_positive_versions(tiny, tmp_path, version):
    with pytest.raises(ValueError):
        tiny.model.export_serving(tmp_path / "m", version=version)
    assert artifacts.version_dirs(tmp_path / "m") == {}


def test_version_dirs_only_counts_positive_numbered_directories(tmp_path):
    for name in ("1", "2", "10", "0", "v3", ".4.partial-abcd1234", "latest"):
        (tmp_path / name).mkdir()
    (tmp_path / "7").write_text("a file, not a version")
    assert sorted(artifacts.version_dirs(tmp_path)) == [1, 2, 10]
    assert artifacts.next_version(tmp_path) == 11
    assert artifacts.version_dirs(tmp_path / "missing") == {}
    assert artifacts.next_version(tmp_path / "missing") == 1


def test_remove_partials_keeps_complete_versions(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"x")
    (tmp_path / ".2.partial-0123abcd" / "variables").mkdir(parents=True)
    artifacts.remove_partials(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1"]


def test_export_removes_only_stale_partials(tmp_path):
    stale, fresh = tmp_path / ".1.partial-00000000", tmp_path / ".2.partial-11111111"
    stale.mkdir()
    fresh.mkdir()
    hours_ago = time.time() - artifacts.STALE_PARTIAL_SECONDS - 60
    os.utime(stale, (hours_ago, hours_ago))
    with artifacts.atomic_version(tmp_path, 3) as scratch:
        (scratch / "saved_model.pb").write_bytes(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "3"]  # a running export's is kept


# --- a killed export --------------------------------------------------------------------------

_SLOW_EXPORT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    from zoo.sensor import SensorClassifier

    base, marker = Path(sys.argv[1]), Path(sys.argv[2])

    class SlowExport(SensorClassifier):
        def reconfigured(self, **changes):
            # export_serving() copies the Keras model after the SavedModel is written, inside the scratch directory.
            assert any(base.glob(".*.partial-*"))
            marker.write_text("writing")
            time.sleep(600)

    model = SlowExport(num_channels=3, class_names=["a", "b"], cell="elman", hidden=4)
    model.export_serving(base, version=1, card={"dataset": {"name": "synthetic"}})
    print("export finished")
    """
)


@pytest.mark.slow
def test_killed_export_leaves_no_loadable_version(tmp_path, recipe):
    base = tmp_path / "models" / "sensor_killed"
    marker = tmp_path / "marker"
    script = tmp_path / "slow_export.py"
    script.write_text(_SLOW_EXPORT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(base), str(marker)],
        env=recipe.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        returncode = recipe.kill_when(proc, marker.exists, 180, "export reaching the write phase")
        output = proc.stdout.read()
    finally:
        proc.stdout.close()
    assert returncode == -signal.SIGKILL, output[-3000:]
    partial = [p for p in base.iterdir() if ".partial-" in p.name]
    assert len(partial) == 1 and (partial[0] / "saved_model.pb").is_file()  # killed mid-write

    assert artifacts.version_dirs(base) == {}
    assert not (base / "1").exists()
    with pytest.raises(ValueError, match="no model version"):
        zoo.load(base)
    with pytest.raises(ValueError):
        registry.resolve(base)
    assert len(_partials(base)) == 1  # the scratch directory survived the kill ...
    artifacts.remove_partials(base)
    assert list(base.iterdir()) == []  # ... and remove_partials cleans it up
