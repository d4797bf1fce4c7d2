"""`zoo download`, `zoo list --available` and `zoo package` against servers, caches and archives that misbehave.

Each probe runs the real command (`zoo.cli.main`, or `python -m zoo` where a
second process, a pipe or a terminal is the point) against a loopback HTTP
server or a local directory, and expects a correct result or one line on
stderr within a second of the cause (read timeout 1 s), with nothing
half-written left in the cache.
"""

import contextlib
import hashlib
import http.server
import io
import json
import os
import pty
import socket
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from zoo import artifacts, downloads, packaging, registry
from zoo.cli import main

REPO = Path(__file__).resolve().parent.parent
MODEL, VERSION = "sensor_basic_motions", 3  # the newest version of the smallest model: its real archive is served
SIZE = registry.catalogue()[MODEL][str(VERSION)]["size"]
READ_TIMEOUT = 1.0
SLACK = 1.0  # seconds a probe may take beyond its cause, on a loaded machine


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The real archive of `MODEL` v`VERSION`, rebuilt from saved_models/, and its catalogue entry."""
    archive = packaging.build_archive(REPO / "saved_models" / MODEL / str(VERSION), tmp_path_factory.mktemp("www"))
    entry = registry.catalogue()[MODEL][str(VERSION)]
    assert (hashlib.sha256(archive.read_bytes()).hexdigest(), archive.stat().st_size) == (
        entry["sha256"], entry["size"])
    return archive


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty `$ZOO_HOME`, a 1 s read timeout, no other place holding models, no proxy."""
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ZOO_READ_TIMEOUT", str(READ_TIMEOUT))
    monkeypatch.setenv("ZOO_CONNECT_TIMEOUT", str(READ_TIMEOUT))
    monkeypatch.setenv("ZOO_MODELS", "")
    monkeypatch.setattr(registry, "CHECKOUT", None)
    monkeypatch.setattr(registry, "installed_packages", dict)
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path / "home"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with what its server's `behaviour(handler)` writes."""

    def do_GET(self):
        with contextlib.suppress(OSError):  # the client hung up, as it should on a misbehaving server
            self.server.behaviour(self)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """`serve(behaviour)`: a loopback HTTP server calling `behaviour(handler)` for each GET; returns its base URL.

    Handlers that stall wait on `handler.server.released`, set when the test ends.
    """
    servers, released = [], threading.Event()

    def start(behaviour):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.behaviour, server.released = behaviour, released
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/models"

    yield start
    released.set()
    for server in servers:
        server.shutdown()
        server.server_close()


def _send(handler, body, length=None, stall=False):
    """A 200 response declaring `length` bytes (`None`: none declared), sending `body`, then maybe stalling."""
    handler.send_response(200)
    if length is not None:
        handler.send_header("Content-Length", str(length))
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()
    if stall:
        handler.server.released.wait(30)


def _download(capsys, *flags):
    """`zoo download MODEL` in this process: (exit code, stdout, stderr, seconds)."""
    started = time.monotonic()
    code = main(["download", MODEL, "--model-version", str(VERSION), *flags])
    out, err = capsys.readouterr()
    return code, out, err, time.monotonic() - started


def _one_line_error(code, out, err):
    assert (code, out) == (1, ""), err
    assert err.startswith("zoo download: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "None --" not in err


def _nothing_cached(home, name=MODEL):
    """No version and no scratch file or directory in the cache."""
    base = home / "models" / name
    return not base.exists() or not list(base.iterdir())


def _zoo(*args, env, **kwargs):
    """`python -m zoo ARGS` in a subprocess, with `env` added to this process's environment."""
    return subprocess.run([sys.executable, "-m", "zoo", *args], env={**os.environ, **env}, timeout=60, **kwargs)


def _env(home, url):
    return {"ZOO_HOME": str(home), "ZOO_MODELS_URL": str(url), "ZOO_READ_TIMEOUT": str(READ_TIMEOUT),
            "ZOO_MODELS": "", "http_proxy": "", "HTTP_PROXY": ""}


@pytest.mark.parametrize("stall", [
    pytest.param(lambda handler, archive: handler.server.released.wait(30), id="before-headers"),
    pytest.param(lambda handler, archive: _send(handler, archive[:1000], len(archive), stall=True), id="mid-body"),
])
def test_a_stalling_server_times_out_within_the_read_timeout(home, published, serve, monkeypatch, capsys, stall):
    archive = published.read_bytes()
    monkeypatch.setenv("ZOO_MODELS_URL", serve(lambda handler: stall(handler, archive)))
    code, out, err, seconds = _download(capsys)
    _one_line_error(code, out, err)
    assert "no data for 1 s (the read timeout, $ZOO_READ_TIMEOUT)" in err
    assert READ_TIMEOUT <= seconds < READ_TIMEOUT + SLACK
    assert _nothing_cached(home)


def _trickle(archive):
    """A server sending the archive ten bytes every tenth of a second (100 bytes/s): never silent for a read
    timeout, and hours from the end."""
    def behaviour(handler):
        _send(handler, b"", len(archive))
        for start in range(0, len(archive), 10):
            if handler.server.released.wait(0.1):
                return
            handler.wfile.write(archive[start:start + 10])
            handler.wfile.flush()

    return behaviour


def test_a_trickling_server_is_given_up_after_a_read_timeout_below_the_minimum_rate(home, published, serve,
                                                                                    monkeypatch, capsys):
    monkeypatch.setenv("ZOO_MODELS_URL", serve(_trickle(published.read_bytes())))
    code, out, err, seconds = _download(capsys)
    _one_line_error(code, out, err)
    assert "slower than 1024 bytes/s for 1 s (the read timeout; $ZOO_MIN_RATE sets the rate)" in err
    assert READ_TIMEOUT <= seconds < READ_TIMEOUT + SLACK
    assert _nothing_cached(home)


@pytest.mark.parametrize("rate", ["0", "-5", "fast", "nan"])
def test_a_minimum_rate_that_is_no_rate_is_one_line(home, published, monkeypatch, capsys, rate):
    monkeypatch.setenv("ZOO_MODELS_URL", str(published.parent))
    monkeypatch.setenv("ZOO_MIN_RATE", rate)
    code, out, err, _ = _download(capsys)
    assert (code, out) == (2, "") and err.count("\n") == 1, err
    assert f"$ZOO_MIN_RATE={rate!r}: expected a positive number" in err
    assert _nothing_cached(home)


def _endless(handler):
    handler.send_response(200)
    handler.end_headers()
    while not handler.server.released.is_set():
        handler.wfile.write(b"\0" * 65536)


def test_an_endless_body_stops_at_the_recorded_size(home, published, serve, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_MODELS_URL", serve(_endless))
    code, out, err, seconds = _download(capsys)
    _one_line_error(code, out, err)
    assert f"longer than the {published.stat().st_size} bytes the catalogue records" in err
    assert seconds < SLACK and _nothing_cached(home)


def test_without_a_recorded_size_a_download_is_capped(serve, tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "DEFAULT_MAX_BYTES", 1 << 20)
    with pytest.raises(downloads.DownloadError, match="longer than at most 1048576 bytes"):
        downloads.fetch(serve(_endless) + "/x.tar", tmp_path / "x.tar", "0" * 64, read_timeout=READ_TIMEOUT)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("behaviour, message", [
    (lambda handler, archive: _send(handler, archive, len(archive) + 1), f"the server sends {SIZE + 1} bytes"),
    (lambda handler, archive: _send(handler, archive[:-1] + b"!"), "does not match the catalogue's"),
    (lambda handler, archive: _send(handler, archive[:1000]), f"ended after 1000 of the {SIZE} bytes"),
    (lambda handler, archive: handler.send_error(404), "HTTP 404 Not Found"),
], ids=["wrong-length", "wrong-hash", "short", "not-found"])
def test_a_wrong_answer_is_refused(home, published, serve, monkeypatch, capsys, behaviour, message):
    archive = published.read_bytes()
    monkeypatch.setenv("ZOO_MODELS_URL", serve(lambda handler: behaviour(handler, archive)))
    code, out, err, seconds = _download(capsys)
    _one_line_error(code, out, err)
    assert message in err and seconds < SLACK and _nothing_cached(home)


def test_an_unreachable_server_is_exit_code_1_in_one_line(home, monkeypatch, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once it is closed
    monkeypatch.setenv("ZOO_MODELS_URL", f"http://127.0.0.1:{port}/models")
    code, out, err, seconds = _download(capsys)
    _one_line_error(code, out, err)
    assert f"127.0.0.1:{port}/models/{MODEL}-{VERSION}.tar: Connection refused" in err
    assert seconds < SLACK and _nothing_cached(home)
    assert main(["download", "no_such_model"]) == 2  # usage mistakes keep exit code 2
    monkeypatch.setenv("ZOO_READ_TIMEOUT", "soon")
    assert main(["download", MODEL]) == 2 and "$ZOO_READ_TIMEOUT='soon'" in capsys.readouterr().err


def test_two_concurrent_downloads_of_one_version_both_succeed(home, published, serve):
    """The server answers only once both requests have arrived, so both race to rename their copy into place."""
    both_asked = threading.Barrier(2, timeout=30)
    archive = published.read_bytes()
    url = serve(lambda handler: both_asked.wait() is not None and _send(handler, archive, len(archive)))
    runs = [subprocess.Popen([sys.executable, "-m", "zoo", "download", MODEL], env={**os.environ, **_env(home, url)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [run.communicate(timeout=60) + (run.returncode,) for run in runs]
    target = home / "models" / MODEL / str(VERSION)
    assert results == [(f"{target}\n", "", 0)] * 2
    assert [p.name for p in target.parent.iterdir()] == [str(VERSION)]
    artifacts.verify(target)


@pytest.mark.parametrize("scheme", ["directory", "file-url"])
def test_piped_stdout_is_the_path_alone_from_a_directory_or_file_url(home, published, scheme):
    url = published.parent if scheme == "directory" else published.parent.as_uri()
    done = _zoo("download", MODEL, env=_env(home, url), capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{home / 'models' / MODEL / str(VERSION)}\n", "")


def test_progress_goes_to_a_terminal_stderr_only(home, published):
    controller, terminal = pty.openpty()
    done = _zoo("download", MODEL, env=_env(home, published.parent), stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    shown = os.read(controller, 1 << 16)
    os.close(controller)
    assert done.returncode == 0 and done.stdout.decode() == f"{home / 'models' / MODEL / str(VERSION)}\n"
    assert f"\r{MODEL}-{VERSION}.tar: 0.3 of 0.3 MB".encode() in shown and b"\x1b" not in shown


def test_a_corrupt_cache_says_to_force_and_force_replaces_it(home, published, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_MODELS_URL", str(published.parent))
    code, out, _, _ = _download(capsys)
    target = home / "models" / MODEL / str(VERSION)
    assert (code, out) == (0, f"{target}\n")
    with open(target / "saved_model.pb", "ab") as f:
        f.write(b"\0")
    code, out, err, _ = _download(capsys)
    _one_line_error(code, out, err)
    assert f"`zoo download {MODEL} --model-version {VERSION} --force`" in err
    monkeypatch.setenv("ZOO_MODELS_URL", str(published.parent / "elsewhere"))
    code, out, err, _ = _download(capsys, "--force")
    _one_line_error(code, out, err)  # the fetch failed: the cached copy is left as it was
    assert target.is_dir() and [p.name for p in target.parent.iterdir()] == [str(VERSION)]
    monkeypatch.setenv("ZOO_MODELS_URL", str(published.parent))
    assert _download(capsys, "--force")[:2] == (0, f"{target}\n")
    artifacts.verify(target)
    assert [p.name for p in target.parent.iterdir()] == [str(VERSION)]


def test_an_unwritable_zoo_home_is_one_line_naming_it(home, published, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_MODELS_URL", str(published.parent))
    if os.geteuid() == 0:  # root writes through any mode: a path under a regular file cannot be written by anyone
        (tmp_path / "a_file").write_text("")
        unwritable = tmp_path / "a_file" / "zoo"
    else:
        unwritable = tmp_path / "read_only"
        unwritable.mkdir(mode=0o500)
    monkeypatch.setenv("ZOO_HOME", str(unwritable))
    code, out, err, _ = _download(capsys)
    _one_line_error(code, out, err)
    assert "set $ZOO_HOME to a writable directory" in err and str(unwritable) in err


def test_list_available_marks_what_is_on_this_machine(home, published, monkeypatch, capsys):
    def available():
        assert main(["list", "--available", "--json"]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return {(row["name"], row["version"]): row for row in rows}

    before = available()
    assert set(before) == {(name, int(v)) for name, versions in registry.catalogue().items() for v in versions}
    assert before[MODEL, VERSION] == {"name": MODEL, "version": VERSION, "archive": published.name,
                                      "size": published.stat().st_size, "installed": False}
    monkeypatch.setenv("ZOO_MODELS_URL", str(published.parent))
    assert _download(capsys)[0] == 0
    assert available()[MODEL, VERSION]["installed"] is True
    assert main(["list", "--available"]) == 0
    assert f"{MODEL:<28} {VERSION:>7}     0.3 MB  yes" in capsys.readouterr().out.splitlines()


def _tar(*members):
    """A plain tar of `(TarInfo, data)` pairs, after one ordinary file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in [(tarfile.TarInfo("saved_model.pb"), b"graph"), *members]:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _member(name, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, b"escaped" if kind == tarfile.REGTYPE else b""


def _lying_header():
    """A tar whose one member claims a gigabyte it does not hold."""
    info = tarfile.TarInfo("saved_model.pb")
    info.size = 1 << 30
    return info.tobuf(tarfile.PAX_FORMAT) + b"\0" * 1024


def _gzip_bomb():
    """A gzipped tar of 32 MiB of zeros: 32 KiB on the wire."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w|gz") as tar:
        info = tarfile.TarInfo("saved_model.pb")
        info.size = 32 << 20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    return buffer.getvalue()


# the cache unpacks into <tmp>/home/models/evil/.1.partial-*/version: five levels up is <tmp>
HOSTILE = {
    "symlink-chain": (lambda tmp: _tar(_member("a", tarfile.DIRTYPE), _member("a/up", tarfile.SYMTYPE, "../../.."),
                                       _member("link", tarfile.SYMTYPE, "a/up/../.."), _member("link/escaped")),
                      "a symbolic link"),
    "dot-dot": (lambda tmp: _tar(_member("../../../../../escaped")), "one leading outside the destination"),
    "absolute": (lambda tmp: _tar(_member(str(tmp / "escaped"))), "an absolute name"),
    "hard-link": (lambda tmp: _tar(_member("hard", tarfile.LNKTYPE, str(tmp / "outside"))), "a hard link"),
    "device": (lambda tmp: _tar(_member("null", tarfile.CHRTYPE)), "a character device"),
    "fifo": (lambda tmp: _tar(_member("pipe", tarfile.FIFOTYPE)), "a FIFO"),
    "lying-size": (lambda tmp: _lying_header(), "more than the archive holds"),
    "gzip-bomb": (lambda tmp: _gzip_bomb(), "gzip data, not a plain tar"),
    "truncated": (lambda tmp: _tar(_member("weights", tarfile.REGTYPE))[:700], "not a readable tar archive"),
    "not-a-tar": (lambda tmp: b"<html>a login page</html>", "not a readable tar archive"),
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_archive_is_refused_in_one_line_and_writes_nothing(home, tmp_path, monkeypatch, capsys, kind):
    build, message = HOSTILE[kind]
    data = build(tmp_path)
    (tmp_path / "outside").write_text("untouched")
    www = tmp_path / "www"
    www.mkdir()
    (www / "evil-1.tar").write_bytes(data)
    entry = {"archive": "evil-1.tar", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    monkeypatch.setattr(registry, "catalogue", lambda: {"evil": {"1": entry}})
    monkeypatch.setenv("ZOO_MODELS_URL", str(www))
    started = time.monotonic()
    code = main(["download", "evil"])
    out, err = capsys.readouterr()
    _one_line_error(code, out, err)
    assert message in err and time.monotonic() - started < SLACK
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "outside", "www"]
    assert (tmp_path / "outside").read_text() == "untouched"
    assert _nothing_cached(home, "evil")


@pytest.mark.parametrize("name", ["../../escaped", "/abs/escaped", "two\nlines", ""])
@pytest.mark.parametrize("output", ["wheel", "archive"])
def test_package_refuses_a_card_name_that_would_write_outside_out(tmp_path, capsys, name, output):
    version_dir = tmp_path / "models" / "m" / "1"
    (version_dir / "assets.extra").mkdir(parents=True)
    (version_dir / "saved_model.pb").write_bytes(b"graph")
    (version_dir / artifacts.CARD).write_text(json.dumps({"name": name, "version": 1, "task": "t"}))
    artifacts.write_manifest(version_dir)
    out = tmp_path / "deep" / "er" / "dist"
    assert main(["package", str(version_dir), "--format", output, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is not a safe file name" in err and err.count("\n") == 1
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "models/m/1/assets.extra/manifest.json", "models/m/1/assets.extra/model_card.json",
        "models/m/1/saved_model.pb"]
