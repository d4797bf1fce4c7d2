"""`zoo` as a careless user runs it: piped into `head`, flags after the command, formats a model cannot take,
optional extras missing, model names where a directory was expected. One line on stderr, or the right result."""

import subprocess
import sys

import pytest

import zoo
from fixtures.recipes import REPO, subprocess_env
from zoo.cli import _serving_sources, main


def test_a_reader_that_stops_early_is_no_error():
    proc = subprocess.Popen([sys.executable, "-m", "zoo", "info", "translate_es_en", "--json"], cwd=REPO,
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the card (well over a pipe's buffer) is written
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == b""


def test_verbose_is_taken_after_the_command_too(capsys):
    assert main(["list", "--verbose"]) == 0
    assert "pos_brown" in capsys.readouterr().out


def test_info_prints_the_metrics_one_per_line_and_counts_the_long_ones(capsys):
    assert main(["info", "pos_brown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) < 400
    accuracy = zoo.info("pos_brown")["test_metrics"]["accuracy"]
    assert any(line.split() == ["TEST", "accuracy", f"{accuracy:.4f}"] for line in lines)
    assert any(line.strip() == "per_tag (12 entries: zoo info --json)" for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("name, suffix", [("pos_brown", ".tflite"), ("lm_english", "")])
def test_keras_formats_of_a_text_model_are_one_line(name, suffix, tmp_path, capsys):
    fmt = "litert" if suffix else "tf_saved_model"
    assert main(["export", name, str(tmp_path / f"out{suffix}"), "--format", fmt]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "export it with format='tf_serving'" in err
    assert not (tmp_path / f"out{suffix}").exists()


def test_did_you_mean_names_each_model_once(capsys):
    assert main(["info", "pos_brwn"]) == 2
    suggestions = capsys.readouterr().err.split("Did you mean ")[1].rstrip("?\n").split(", ")
    assert len(suggestions) == len(set(suggestions)) and "pos_brown" in suggestions


@pytest.mark.slow  # a fresh interpreter each, importing TensorFlow
@pytest.mark.parametrize("blocked, argv", [
    ("grpc", ["serve", "--help"]), ("tensorflow_serving", ["serve", "--help"]),
    ("tensorflow_serving", ["serving-config", "--help"]), ("matplotlib", ["train", "pos", "--help"]),
    ("sacrebleu", ["train", "translation", "--help"]),
])
def test_help_lists_the_flags_without_the_optional_extras(blocked, argv):
    code = (f"import sys; sys.modules[{blocked!r}] = None; from zoo.cli import main; "
            f"sys.exit(main({argv!r}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=subprocess_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert "--help" in proc.stdout and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_serving_a_missing_extra_is_one_line_with_the_extra_to_install():
    code = "import sys; sys.modules['tensorflow_serving'] = None; from zoo.cli import main; " \
           "sys.exit(main(['serving-config', 'saved_models']))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=subprocess_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "pip install 'rnn-zoo[serve]'" in proc.stderr


def test_serve_takes_names_base_directories_and_roots(tmp_path):
    (tmp_path / "plain").mkdir()
    roots, bases = _serving_sources(["pos_brown", str(REPO / "saved_models" / "sensor_basic_motions"),
                                     str(tmp_path)])
    assert roots == [tmp_path]
    assert bases == {"pos_brown": REPO / "saved_models" / "pos_brown",
                     "sensor_basic_motions": REPO / "saved_models" / "sensor_basic_motions"}
    with pytest.raises(ValueError, match="Unknown model 'no_such_model'"):
        _serving_sources(["no_such_model"])


@pytest.mark.slow  # loads the four versions of two taggers
def test_a_root_serves_only_directories_that_hold_versions(tmp_path):
    pytest.importorskip("tensorflow_serving")
    from zoo.serving import ModelRepository

    (tmp_path / "site-packages-like" / "numpy").mkdir(parents=True)
    (tmp_path / "site-packages-like" / "pos_brown").symlink_to(REPO / "saved_models" / "pos_brown")
    repository = ModelRepository(tmp_path / "site-packages-like",
                                 bases={"tagger": REPO / "saved_models" / "pos_brown_fine"})
    assert sorted(repository.refresh()) == ["pos_brown", "tagger"]


def test_without_tensorflow_a_command_says_which_extra_installs_it():
    code = ("import sys; sys.modules['tensorflow'] = None; from zoo.cli import main; "
            "sys.exit(main(['predict', 'pos_brown', '--text', 'It works.']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=subprocess_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "pip install 'rnn-zoo[tensorflow]' (or another TensorFlow 2.21 distribution" in proc.stderr
