"""zoo.cli: the `zoo` command, run in-process on the smoke export (and once through the console script)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zoo
from fixtures.forks import run_python
from fixtures.recipes import REPO
from zoo import artifacts, registry
from zoo.cli import main


@pytest.fixture
def catalogue(smoke, monkeypatch, tmp_path):
    """Only the smoke export is in the catalogue."""
    monkeypatch.setenv("ZOO_MODELS", str(smoke.models))
    monkeypatch.setattr(registry, "CHECKOUT", tmp_path / "no_bundled_models")
    return smoke


def _predicted_labels(text):
    return re.findall(r"^series (\d+): (\S+)", text, flags=re.M)


def test_list(catalogue, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("sensor_basic_motions")]
    assert len(rows) == 1
    assert "sensor-classification" in rows[0] and "BasicMotions" in rows[0]
    accuracy = zoo.info("sensor_basic_motions")["test_metrics"]["accuracy"]
    assert f"{accuracy * 100:.1f}% acc" in rows[0]


def test_list_by_task(catalogue, capsys):
    assert main(["list", "--task", "pos-tagging"]) == 0
    assert "sensor_basic_motions" not in capsys.readouterr().out


def test_info(catalogue, capsys):
    assert main(["info", "sensor_basic_motions"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sensor_basic_motions v1")
    assert "BasicMotions" in out and "serving_default" in out and "classify_padded" in out
    assert "recipes/sensor_classification.py" in out


def test_info_json(catalogue, capsys):
    assert main(["info", "sensor_basic_motions", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card == json.loads((catalogue.version_dir / artifacts.CARD).read_text())


def _write_input(kind, series, path):
    if kind == "npy":
        np.save(path, series)
    elif kind == "csv":
        header = ",".join(f"channel_{c}" for c in range(series.shape[1]))
        np.savetxt(path, series, delimiter=",", header=header, comments="", fmt="%.9g")
    else:
        path.write_text(json.dumps({"instances": [series.tolist()]}))


@pytest.mark.parametrize("kind", ["npy", "csv", "json"])
def test_predict_from_a_file(catalogue, smoke_model, basic_motions_test, tmp_path, capsys, kind):
    series = basic_motions_test.series[25].astype(np.float32)
    path = tmp_path / f"series.{kind}"
    _write_input(kind, series, path)
    assert main(["predict", "sensor_basic_motions", "--input", str(path)]) == 0
    out = capsys.readouterr().out
    assert _predicted_labels(out) == [("0", smoke_model.classify(series).labels[0])]


def test_predict_a_json_list_of_different_lengths(catalogue, smoke_model, basic_motions_test, tmp_path, capsys):
    series = [basic_motions_test.series[3][:40], basic_motions_test.series[33][:90]]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"series": [s.tolist() for s in series]}))
    assert main(["predict", "sensor_basic_motions", "--input", str(path)]) == 0
    expected = smoke_model.classify(series).labels
    assert _predicted_labels(capsys.readouterr().out) == [("0", expected[0]), ("1", expected[1])]


def test_predict_bad_input_is_exit_code_2(catalogue, tmp_path, capsys):
    path = tmp_path / "wrong.npy"
    np.save(path, np.zeros((10, 5), np.float32))
    assert main(["predict", "sensor_basic_motions", "--input", str(path)]) == 2
    err = capsys.readouterr().err
    assert "series" in err and "6 channels" in err


def test_evaluate_reproduces_the_card(catalogue, capsys):
    assert main(["evaluate", "sensor_basic_motions"]) == 0
    out = capsys.readouterr().out
    assert "reproduced" in out


def test_evaluate_validation_split(catalogue, capsys):
    """The smoke run scores the whole validation split, so the card's validation_metrics reproduce."""
    assert main(["evaluate", "sensor_basic_motions", "--split", "validation"]) == 0
    out = capsys.readouterr().out
    assert "on validation" in out and "errors of 8" in out
    assert "reproduced" in out


def test_export(catalogue, tmp_path, capsys):
    out_base = tmp_path / "exported" / "sensor_bm_copy"
    assert main(["export", "sensor_basic_motions", str(out_base), "--to-version", "7"]) == 0
    assert f"exported {out_base / '7'}" in capsys.readouterr().out
    artifacts.verify(out_base / "7")
    card = zoo.info(out_base / "7")
    assert card["name"] == "sensor_bm_copy" and card["version"] == 7
    assert card["test_metrics"] == zoo.info("sensor_basic_motions")["test_metrics"]


def test_unknown_name_is_exit_code_2_with_a_suggestion(catalogue, capsys):
    assert main(["info", "sensor_basic_motion"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean sensor_basic_motions" in err
    assert main(["predict", "sensor_basic_motionz", "--input", "x.npy"]) == 2
    assert "Did you mean" in capsys.readouterr().err


def test_unknown_version_is_exit_code_2(catalogue, capsys):
    assert main(["info", "sensor_basic_motions", "-v", "9"]) == 2
    assert "sensor_basic_motions version 9 does not exist (on this machine: [1]" in capsys.readouterr().err


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2


@pytest.mark.slow
def test_console_script_help(tmp_path):
    script = shutil.which("zoo") or Path(sys.executable).parent / "zoo"
    assert Path(script).is_file()
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for command in ("list", "info", "predict", "evaluate", "export", "package", "download", "train", "demo"):
        assert command in proc.stdout


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"rnn-zoo {zoo.__version__}"


def test_demo(catalogue, capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "sensor_basic_motions v1" in out
    assert len(re.findall(r"test #\s*\d+ +100 steps +predicted '\w+'", out)) == 5


def test_demo_without_models(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ZOO_MODELS", str(tmp_path / "empty"))
    monkeypatch.setattr(registry, "CHECKOUT", tmp_path / "also_empty")
    assert main(["demo"]) == 1
    assert "no pretrained models found" in capsys.readouterr().out


def test_list_json_and_an_unknown_task(catalogue, capsys):
    assert main(["list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    card = zoo.info("sensor_basic_motions")
    assert rows == [{"name": "sensor_basic_motions", "version": 1, "task": "sensor-classification",
                     "test": f"{card['test_metrics']['accuracy'] * 100:.1f}% acc", "dataset": "BasicMotions"}]
    assert main(["list", "--task", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown task 'bogus'" in err and "pos-tagging" in err


def test_predict_json_is_one_object_per_series(catalogue, smoke_model, basic_motions_test, tmp_path, capsys):
    series = [basic_motions_test.series[3][:40], basic_motions_test.series[33]]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"series": [s.tolist() for s in series]}))
    assert main(["predict", "sensor_basic_motions", "--input", str(path), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = smoke_model.classify(series)
    assert [r["series"] for r in records] == [0, 1] and [r["label"] for r in records] == expected.labels
    for record, scores in zip(records, expected.scores):
        assert list(record["scores"]) == smoke_model.class_names
        np.testing.assert_allclose(list(record["scores"].values()), scores, atol=1e-6)


def test_evaluate_json(catalogue, capsys):
    assert main(["evaluate", "sensor_basic_motions", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["reproduced"] is True and result["split"] == "test"
    assert result["metrics"]["accuracy"] == zoo.info("sensor_basic_motions")["test_metrics"]["accuracy"]


def test_a_missing_optional_dependency_is_one_line_naming_its_extra(catalogue, monkeypatch, capsys):
    def evaluate_without_sklearn(self, split="test"):
        raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")

    monkeypatch.setattr(type(zoo.load("sensor_basic_motions")), "evaluate_split", evaluate_without_sklearn)
    assert main(["evaluate", "sensor_basic_motions"]) == 1
    assert capsys.readouterr().err == (
        "zoo evaluate: error: No module named 'sklearn': pip install 'rnn-zoo[data]'\n")


def test_export_litert(catalogue, tmp_path, capsys):
    path = tmp_path / "sensor.tflite"
    assert main(["export", "sensor_basic_motions", str(path), "--format", "litert"]) == 0
    assert capsys.readouterr().out.strip() == f"exported {path}" and path.stat().st_size > 10_000


def _zoo(*args, env=None, cwd=REPO):
    """`python -m zoo ARGS` in a process of its own (a fresh interpreter where `env` changes how one starts)."""
    return run_python([sys.executable, "-m", "zoo", *args], cwd=cwd, env={**os.environ, **(env or {})}, timeout=300)


def test_catalogue_commands_import_neither_tensorflow_nor_keras(catalogue):
    script = ("import sys; from zoo.cli import main; "
              "codes = [main(['list']), main(['info', 'sensor_basic_motions']), main(['info', 'nope'])]; "
              "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules); print(codes, heavy)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ZOO_MODELS": str(catalogue.models)})
    assert done.stdout.splitlines()[-1] == "[0, 0, 2] []", done.stderr


@pytest.mark.slow
def test_python_dash_m_zoo_prints_no_tensorflow_lines(catalogue, basic_motions_test, tmp_path):
    """TensorFlow's C++ start-up lines go to file descriptor 2 before any log level applies."""
    path = tmp_path / "one.npy"
    np.save(path, basic_motions_test.series[0])
    env = {"ZOO_MODELS": str(catalogue.models), "TF_CPP_MIN_LOG_LEVEL": ""}
    done = _zoo("predict", "sensor_basic_motions", "--input", str(path), env=env, cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "" and done.stdout.startswith("series 0: ")
    failed = _zoo("predict", "sensor_basic_motions", "--input", str(tmp_path / "missing.npy"), env=env)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1 and "missing.npy" in failed.stderr
    configured = _zoo("serving-config", str(catalogue.models), env=env)  # its flags' defaults import TensorFlow
    assert configured.returncode == 0 and configured.stderr == "" and "sensor_basic_motions" in configured.stdout


@pytest.mark.slow
def test_train_runs_a_recipe_into_the_current_directory(tmp_path):
    done = _zoo("train", "sensor", "--dataset", "BasicMotions", "--smoke", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    smoke = tmp_path / "runs" / "sensor_basic_motions_smoke"  # apart from a real run's workdir and models
    card = zoo.info(smoke / "saved_models" / "sensor_basic_motions" / "1")
    assert card["recipe_command"] == "zoo train sensor --dataset BasicMotions --smoke"
    assert (smoke / "history.csv").is_file() and not (tmp_path / "saved_models").exists()
    assert _zoo("train", "bogus", cwd=tmp_path).returncode == 2


def test_import_zoo_changes_no_global_state(tmp_path):
    script = """
import logging, os, sys
import matplotlib
matplotlib.use("svg")
environ, handlers = dict(os.environ), list(logging.getLogger().handlers)
import numpy as np, zoo
zoo.plot_attention({"source_tokens": ["a"], "target_tokens": ["b"], "attention": np.ones((1, 1))}, sys.argv[1])
print(matplotlib.get_backend(), dict(os.environ) == environ, logging.getLogger().handlers == handlers)
"""
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "a.png")], capture_output=True, text=True,
                          timeout=120, env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert done.stdout.split() == ["svg", "True", "True"], done.stderr


# --- reading input files (zoo.sensor.io) ---------------------------------------------------------


def test_read_series_formats(tmp_path):
    from zoo.sensor.io import read_series

    series = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    (tmp_path / "plain.csv").write_text("\n".join(",".join(f"{v:.9g}" for v in row) for row in series))
    np.testing.assert_allclose(read_series(tmp_path / "plain.csv"), series, rtol=1e-6)
    (tmp_path / "header.csv").write_text("ax,ay,az\n" + (tmp_path / "plain.csv").read_text())
    np.testing.assert_allclose(read_series(tmp_path / "header.csv"), series, rtol=1e-6)
    np.save(tmp_path / "batch.npy", np.stack([series, series]))
    assert read_series(tmp_path / "batch.npy").shape == (2, 4, 3)
    (tmp_path / "nested.json").write_text(json.dumps(series.tolist()))
    np.testing.assert_allclose(read_series(tmp_path / "nested.json"), series, rtol=1e-6)
    (tmp_path / "ragged.json").write_text(json.dumps({"series": [series.tolist(), series[:2].tolist()]}))
    ragged = read_series(tmp_path / "ragged.json")
    assert [s.shape for s in ragged] == [(4, 3), (2, 3)]


@pytest.mark.parametrize("name,content", [("x.txt", "1,2,3"), ("x.json", "{broken"), ("x.npy", "not numpy")])
def test_read_series_refuses_unreadable_files(tmp_path, name, content):
    from zoo.sensor.io import read_series

    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=name):
        read_series(tmp_path / name)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_predict_csv_with_a_non_finite_first_row_is_refused(catalogue, tmp_path, capsys, bad):
    """A first row holding nan/inf is data, not a header: it must be refused, not silently dropped."""
    path = tmp_path / "series.csv"
    rows = [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]] * 5
    path.write_text(f"{bad},0,0,0,0,0\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    assert main(["predict", "sensor_basic_motions", "--input", str(path)]) == 2
    err = capsys.readouterr().err
    assert "series" in err and ("NaN" in err or "infinite" in err)


# --- an image model ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_predict_images_with_a_captioner(captioning_smoke, tmp_path, capsys):
    import tensorflow as tf

    from zoo.datasets import scenes

    paths = []
    for index in (0, 1):
        paths.append(tmp_path / f"scene {index}.png")
        paths[-1].write_bytes(tf.io.encode_png(scenes.generate("test", index)[0]).numpy())
    assert main(["predict", str(captioning_smoke.version_dir), "--image", *map(str, paths)]) == 0
    printed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    expected = zoo.load(captioning_smoke.version_dir).caption(paths)
    assert printed == [[str(path), caption] for path, caption in zip(paths, expected)]


def test_images_for_a_model_without_images_is_exit_code_2(catalogue, tmp_path, capsys):
    assert main(["predict", "sensor_basic_motions", "--image", str(tmp_path / "x.png")]) == 2
    assert "take no images" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_a_captioner_reproduces_its_card(captioning_smoke, capsys):
    assert main(["evaluate", str(captioning_smoke.version_dir)]) == 0
    out = capsys.readouterr().out
    assert "on test: bleu" in out and "32 images" in out and "attribute accuracy" in out and "reproduced" in out
