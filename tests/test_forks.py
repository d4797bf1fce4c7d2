"""fixtures.forks: a forked recipe run is its own process, as a fresh interpreter would be (`slow`: the fork
server imports TensorFlow before its first job)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from fixtures.forks import FORKS, STARTUP_VARIABLES, run_python
from fixtures.recipes import subprocess_env

REPORT = """
import json, os, sys, tempfile
import numpy as np
print(json.dumps({"pid": os.getpid(), "cwd": os.getcwd(), "argv": sys.argv, "path0": sys.path[0],
                  "name": __name__, "env": os.environ.get("FORKS_PROBE"), "tmp": tempfile.gettempdir(),
                  "draw": float(np.random.rand()), "stdin": sys.stdin.read(),
                  "zoo_imported": "zoo" in sys.modules}))
print("to stderr", file=sys.stderr)
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "scripts" / "report.py"
    path.parent.mkdir()
    path.write_text(REPORT)
    return path


@pytest.mark.slow
def test_a_forked_script_has_its_own_pid_cwd_argv_environment_and_exit_code(script, tmp_path):
    env = subprocess_env(FORKS_PROBE="set", TMPDIR=tmp_path)
    runs = [run_python([sys.executable, str(script), str(code)], cwd=tmp_path, env=env, timeout=120)
            for code in (0, 3)]
    assert [r.returncode for r in runs] == [0, 3]
    reports = [json.loads(r.stdout) for r in runs]
    assert all(r.stderr == "to stderr\n" for r in runs)
    first, second = reports
    assert first["pid"] != second["pid"] and os.getpid() not in (first["pid"], second["pid"])
    assert first["argv"] == [str(script), "0"] and first["name"] == "__main__"
    assert first["cwd"] == str(tmp_path) and first["path0"] == str(script.parent)
    assert first["env"] == "set" and first["tmp"] == str(tmp_path) and first["stdin"] == ""
    assert first["draw"] != second["draw"]  # NumPy's global generator seeded anew, not the server's copy
    assert not first["zoo_imported"]  # the server imported TensorFlow and Keras, nothing of the zoo


@pytest.mark.slow
def test_python_dash_m_runs_the_module_as_main(tmp_path):
    (tmp_path / "probe_module.py").write_text(REPORT)
    done = run_python([sys.executable, "-m", "probe_module", "0"], cwd=tmp_path, env=subprocess_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["name"] == "__main__" and report["path0"] == str(tmp_path)


@pytest.mark.slow
def test_an_exception_prints_its_traceback_and_exits_1(tmp_path):
    (tmp_path / "fails.py").write_text("raise ValueError('said clearly')\n")
    done = run_python([sys.executable, "fails.py"], cwd=tmp_path, env=subprocess_env(), timeout=120)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "ValueError: said clearly" in done.stderr


@pytest.mark.slow
def test_a_killed_fork_reports_sigkill_and_its_own_session_can_be_killed_whole(tmp_path):
    (tmp_path / "sleeps.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(600)\n")
    log = tmp_path / "log.txt"
    log.write_text("")
    proc = FORKS.popen([sys.executable, "sleeps.py"], tmp_path, subprocess_env(), log, log, start_new_session=True)
    deadline = time.monotonic() + 60
    while "up" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    assert os.getpgid(proc.pid) == proc.pid  # a process group of its own
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


@pytest.mark.slow
def test_a_timeout_kills_the_fork_and_raises_as_subprocess_run_does(tmp_path):
    (tmp_path / "sleeps.py").write_text("import time\ntime.sleep(600)\n")
    with pytest.raises(subprocess.TimeoutExpired):
        run_python([sys.executable, "sleeps.py"], cwd=tmp_path, env=subprocess_env(), timeout=1)


@pytest.mark.parametrize("variable", STARTUP_VARIABLES)
def test_what_an_interpreter_reads_while_starting_is_not_forked(variable):
    argv = [sys.executable, "recipes/pos_tagging.py"]
    assert FORKS.can_fork(argv, subprocess_env())
    assert not FORKS.can_fork(argv, subprocess_env(**{variable: "differs"}))
    assert not FORKS.can_fork([sys.executable, "-c", "pass"], subprocess_env())  # -c, -u, ...: a fresh one


@pytest.mark.slow
def test_a_server_killed_from_outside_is_replaced_by_the_next_job(tmp_path):
    (tmp_path / "ok.py").write_text("print('ok')\n")
    assert run_python([sys.executable, "ok.py"], cwd=tmp_path, env=subprocess_env(), timeout=120).stdout == "ok\n"
    FORKS.proc.kill()
    FORKS.proc.wait(timeout=30)
    assert run_python([sys.executable, "ok.py"], cwd=tmp_path, env=subprocess_env(), timeout=120).stdout == "ok\n"


def test_a_refused_environment_starts_a_fresh_interpreter_of_this_process(tmp_path):
    (tmp_path / "parent.py").write_text("import os, sys\nprint(os.getppid(), 'tensorflow' in sys.modules)\n")
    env = subprocess_env(PYTHONHASHSEED="7")
    done = run_python([sys.executable, "parent.py"], cwd=tmp_path, env=env, timeout=120)
    assert done.stdout == f"{os.getpid()} False\n"
    log = tmp_path / "log.txt"
    proc = FORKS.popen([sys.executable, "parent.py"], tmp_path, env, log, log)
    assert proc.wait(timeout=120) == 0 and log.read_text() == f"{os.getpid()} False\n"
