"""zoo serving-config: TF Serving's --model_config_file and --batching_parameters_file, parsed back into the protos."""

import shutil

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

import zoo
from zoo import registry
from zoo.cli import main
from zoo.serving.config import BatchingParameters


def _parsed_config(text):
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def test_one_config_per_model_base_with_the_container_paths(tiny, tmp_path, capsys):
    root = tmp_path / "models"
    for name in ("sensor_a", "sensor_b"):
        shutil.copytree(tiny.version_dir, root / name / "3")
    shutil.copytree(tiny.version_dir, root / "sensor_c" / ".2.partial-abcd")  # an export still being written
    (root / "empty").mkdir()
    (root / ".hidden" / "1").mkdir(parents=True)
    batching = tmp_path / "batching.config"
    assert main(["serving-config", str(root), "--base-path", "/srv/models/", "--batching-parameters", str(batching),
                 "--max-batch-size", "16", "--batch-timeout-micros", "500", "--num-batch-threads", "2",
                 "--allowed-batch-sizes", "4", "8", "16", "--pad-variable-length-inputs"]) == 0
    out, err = capsys.readouterr()
    configs = _parsed_config(out).model_config_list.config
    assert [(c.name, c.base_path, c.model_platform) for c in configs] == [
        ("sensor_a", "/srv/models/sensor_a", "tensorflow"), ("sensor_b", "/srv/models/sensor_b", "tensorflow")]
    assert all(c.model_version_policy.latest.num_versions == 1 for c in configs)
    parameters = text_format.Parse(batching.read_text(), BatchingParameters())
    assert (parameters.max_batch_size.value, parameters.batch_timeout_micros.value, parameters.num_batch_threads.value,
            parameters.max_enqueued_batches.value, list(parameters.allowed_batch_sizes),
            parameters.pad_variable_length_inputs) == (16, 500, 2, 100, [4, 8, 16], True)
    assert str(batching) in err


def test_the_pretrained_models_are_listed_under_models(capsys, monkeypatch):
    monkeypatch.delenv("ZOO_MODELS", raising=False)
    assert main(["serving-config", str(registry.CHECKOUT)]) == 0
    configs = _parsed_config(capsys.readouterr().out).model_config_list.config
    assert [c.name for c in configs] == zoo.list_models()
    assert [c.base_path for c in configs] == [f"/models/{name}" for name in zoo.list_models()]


@pytest.mark.parametrize("flags, words", [
    (["--allowed-batch-sizes", "4", "16"], "ending at max_batch_size 32"),
    (["--allowed-batch-sizes", "8", "4", "32"], "increasing"),
    (["--max-batch-size", "0"], "max_batch_size"),
])
def test_batching_parameters_tf_serving_would_refuse_are_refused(tiny, tmp_path, capsys, flags, words):
    shutil.copytree(tiny.version_dir, tmp_path / "models" / "sensor" / "1")
    batching = tmp_path / "batching.config"
    assert main(["serving-config", str(tmp_path / "models"), "--batching-parameters", str(batching), *flags]) == 2
    assert words in capsys.readouterr().err and not batching.exists()


def test_a_root_without_models_is_refused(tmp_path, capsys):
    assert main(["serving-config", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["serving-config", str(tmp_path)]) == 2
    assert "no model base directories" in capsys.readouterr().err
