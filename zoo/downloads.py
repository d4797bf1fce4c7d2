"""Fetching one file, bounded in time and size, checked, and written atomically.

`fetch` reads an `http://`, `https://` or `file://` URL with urllib (a plain
directory is turned into a `file://` URL by `url_of`). It waits at most the
connect timeout for a connection and the read timeout for each read after it,
stops as soon as the body outgrows the size the catalogue records (or
`DEFAULT_MAX_BYTES` where it records none), gives up on a server that
trickles (fewer than `$ZOO_MIN_RATE` bytes a second, default 1024, over a
whole read timeout: curl's `--speed-limit`), checks the sha256, and only then
renames the hidden partial file into place: whatever fails, nothing but the
exception is left behind. So a download ends within the connect timeout, plus
a read timeout per stall, plus the size at the minimum rate.

Timeouts, in seconds: the arguments of `fetch`, else `$ZOO_CONNECT_TIMEOUT`
(default 10) and `$ZOO_READ_TIMEOUT` (default 30).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import math
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TextIO

from zoo.version import __version__

CONNECT_TIMEOUT = ("ZOO_CONNECT_TIMEOUT", 10.0)  # (environment variable, default seconds)
READ_TIMEOUT = ("ZOO_READ_TIMEOUT", 30.0)
MIN_RATE = ("ZOO_MIN_RATE", 1024.0)  # bytes a second, averaged over each read timeout
DEFAULT_MAX_BYTES = 64 << 20  # the most a download may be when its size is not recorded
SCHEMES = ("http", "https", "file")
_BLOCK = 1 << 16


class DownloadError(OSError):
    """A download that failed: unreachable, too slow, too large, cut short, or not matching its sha256."""


def setting(variable_and_default: tuple[str, float]) -> float:
    """A positive number (seconds, bytes a second) from a `(variable, default)` setting: the environment
    variable when set, else the default.

    Raises:
        ValueError: the variable holds anything but a positive number.
    """
    variable, default = variable_and_default
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise ValueError(f"${variable}={text!r}: expected a positive number")
    return value


def url_of(base: str, file_name: str) -> str:
    """The URL of `file_name` under `base`: an http(s) or file URL, or a plain directory.

    >>> url_of("https://example.org/zoo/", "a-1.tar")
    'https://example.org/zoo/a-1.tar'
    """
    scheme = urllib.parse.urlsplit(base).scheme
    if scheme in SCHEMES:
        return f"{base.rstrip('/')}/{urllib.parse.quote(file_name)}"
    if "://" in base:
        raise ValueError(f"{base}: unsupported URL scheme {scheme!r}; expected {', '.join(SCHEMES)} or a directory")
    return Path(base).expanduser().resolve().joinpath(file_name).as_uri()


def terminal() -> TextIO | None:
    """`sys.stderr` when it is a terminal (where progress is shown), else `None`."""
    return sys.stderr if sys.stderr is not None and sys.stderr.isatty() else None


def fetch(url: str, target: str | os.PathLike, sha256: str, size: int | None = None, *,
          connect_timeout: float | None = None, read_timeout: float | None = None,
          progress: TextIO | None = None) -> Path:
    """Downloads `url` into `target` through a hidden partial file beside it; returns `target`.

    Args:
        url: what `url_of` gives.
        target: the file to write; its directory must exist.
        sha256: the hex digest the file must have.
        size: the exact number of bytes it must have; when `None`, at most
            `DEFAULT_MAX_BYTES` are read.
        connect_timeout, read_timeout: seconds; by default `$ZOO_CONNECT_TIMEOUT`
            and `$ZOO_READ_TIMEOUT`.
        progress: a text stream to show the bytes received on (one line,
            rewritten with a carriage return), or `None`.

    Raises:
        DownloadError: one line naming the URL and what went wrong; no file is
            left behind.
        ValueError: a timeout variable that is not a positive number.
    """
    timeouts = (connect_timeout or setting(CONNECT_TIMEOUT), read_timeout or setting(READ_TIMEOUT))
    target = Path(target)
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            digest = _copy(url, out, size, timeouts, _Progress(progress, target.name, size))
            out.flush()
            os.fsync(out.fileno())
        if digest != sha256:
            raise DownloadError(f"{url}: sha256 {digest} does not match the catalogue's {sha256}")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
    return target


def _copy(url, out, size, timeouts, progress):
    """Copies the body of `url` into the file `out`, within the size limit; returns its sha256."""
    limit = DEFAULT_MAX_BYTES if size is None else size
    digest, received = hashlib.sha256(), 0
    rate = _Rate(url, timeouts[1], setting(MIN_RATE))
    try:
        with _open(url, *timeouts) as response:
            _check_declared_length(url, response, size, limit)
            while block := response.read1(_BLOCK):  # what has arrived: a trickle is seen as it trickles
                received += len(block)
                if received > limit:
                    raise DownloadError(f"{url}: longer than {_limit_text(size, limit)}")
                rate.check(received)
                digest.update(block)
                out.write(block)
                progress.update(received)
    except DownloadError:
        raise
    except TimeoutError:
        raise DownloadError(f"{url}: no data for {timeouts[1]:g} s (the read timeout, ${READ_TIMEOUT[0]})") from None
    except urllib.error.HTTPError as err:
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise DownloadError(f"{url}: {_reason(err.reason, timeouts[0])}") from None
    except (OSError, http.client.HTTPException) as err:
        raise DownloadError(f"{url}: {_reason(err, timeouts[0])}") from None
    finally:
        progress.close()
    if size is not None and received != size:
        raise DownloadError(f"{url}: ended after {received} of the {size} bytes the catalogue records")
    return digest.hexdigest()


class _Rate:
    """Refuses a body that arrives slower than `minimum` bytes a second over a whole `window` of seconds."""

    def __init__(self, url, window, minimum):
        self.url, self.window, self.minimum = url, window, minimum
        self.started, self.at_start = time.monotonic(), 0

    def check(self, received):
        elapsed = time.monotonic() - self.started
        if elapsed < self.window:
            return
        if (received - self.at_start) / elapsed < self.minimum:
            raise DownloadError(f"{self.url}: slower than {self.minimum:g} bytes/s for {self.window:g} s (the "
                                f"read timeout; ${MIN_RATE[0]} sets the rate)")
        self.started, self.at_start = time.monotonic(), received


def _check_declared_length(url, response, size, limit):
    """Refuses a response whose Content-Length already says it is not the expected file."""
    declared = response.headers.get("Content-Length", "")
    if not declared.isdigit():
        return
    if int(declared) > limit or (size is not None and int(declared) != size):
        raise DownloadError(f"{url}: the server sends {declared} bytes; expected {_limit_text(size, limit)}")


def _limit_text(size, limit):
    if size is None:
        return f"at most {limit} bytes (the catalogue records no size)"
    return f"the {size} bytes the catalogue records"


def _reason(err, connect_timeout):
    """Why a connection failed, in a few words."""
    if isinstance(err, TimeoutError):
        return f"no connection within {connect_timeout:g} s (the connect timeout, ${CONNECT_TIMEOUT[0]})"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return " ".join(str(err).split()) or type(err).__name__


def _open(url, connect_timeout, read_timeout):
    """Opens `url`: `connect_timeout` until connected, then `read_timeout` for every read."""
    opener = urllib.request.build_opener(_HTTPHandler(read_timeout), _HTTPSHandler(read_timeout))
    request = urllib.request.Request(url, headers={"User-Agent": f"rnn-zoo/{__version__}"})
    return opener.open(request, timeout=connect_timeout)


class _ReadTimeout:
    """Mixin for an `http.client` connection: once connected, each read waits at most `read_timeout` seconds."""

    read_timeout = None

    def connect(self):
        super().connect()
        self.sock.settimeout(self.read_timeout)


class _ReadTimeoutOpening:
    """Mixin for a urllib handler whose connections switch to `read_timeout` once connected."""

    def __init__(self, read_timeout):
        super().__init__()
        self.read_timeout = read_timeout

    def do_open(self, http_class, req, **kwargs):
        connection = type(http_class.__name__, (_ReadTimeout, http_class), {"read_timeout": self.read_timeout})
        return super().do_open(connection, req, **kwargs)


class _HTTPHandler(_ReadTimeoutOpening, urllib.request.HTTPHandler):
    pass


class _HTTPSHandler(_ReadTimeoutOpening, urllib.request.HTTPSHandler):
    pass


class _Progress:
    """`name: 12.3 of 25.7 MB` on one line of a stream, rewritten at most ten times a second."""

    def __init__(self, stream, name, total):
        self.stream, self.name, self.total = stream, name, total
        self.shown_at, self.received = 0.0, 0

    def update(self, received):
        self.received = received
        if self.stream is not None and time.monotonic() - self.shown_at >= 0.1:
            self.shown_at = time.monotonic()
            self._show("")

    def close(self):
        if self.stream is not None and self.shown_at:
            self._show("\n")

    def _show(self, end):
        total = f" of {self.total / 1e6:.1f}" if self.total else ""
        self.stream.write(f"\r{self.name}: {self.received / 1e6:.1f}{total} MB{end}")
        self.stream.flush()
