"""What one request may ask of `zoo serve`, checked before anything is allocated, and how its work is cut up.

A request's inputs are checked as they were declared, before any array is
built: a gRPC `TensorProto` declaring `[20000, 1000, 6]` with one value, or a
JSON list nested 900 deep, is refused without materialising it. Within the
limits, a request's rows are answered in calls of at most `rows_per_call`
rows and `pixels_per_call` image pixels (JPEG and PNG inputs are measured
from their headers), so memory follows one call, not the request; between
calls the request's deadline and its client are checked, so a request past
its deadline, or whose client left, stops computing.

>>> limits = Limits(max_elements=10)
>>> limits.check_declared("series", tf.float32, [2, 3, 4])
Traceback (most recent call last):
...
zoo.serving.errors.ServingError: series: 24 elements declared, over the limit of 10 per input \
(zoo serve --max-tensor-elements)
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf

from zoo.images import image_pixels
from zoo.serving.errors import ServingError

MAX_RANK = 32  # deeper JSON nesting or a larger declared rank is refused before it is walked


@dataclasses.dataclass(frozen=True)
class Limits:
    """The caps of one request and the size of the calls that answer it (each a `zoo serve` flag).

    Attributes:
        max_elements: elements of one input tensor, as declared.
        max_bytes: bytes of one input tensor (numbers: elements x item size; strings: their bytes).
        max_rows: rows (dimension 0) of one request.
        max_pixels: pixels of the JPEG and PNG images of one request, summed.
        rows_per_call: a request of more rows is answered in calls of this many.
        pixels_per_call: image pixels of one call (a call holds at least one image).
        request_timeout: seconds a request may compute; past them it is answered DEADLINE_EXCEEDED.
        socket_timeout: seconds a REST connection may stay idle, or a body may stall, before it is closed.
        header_timeout: seconds a REST request's line and headers may take to arrive, all of them (a client
            sending a byte now and then keeps `socket_timeout` from ever passing, and holds a connection).
    """

    max_elements: int = 4_000_000
    max_bytes: int = 32 << 20
    max_rows: int = 4096
    max_pixels: int = 64 << 20
    rows_per_call: int = 64
    pixels_per_call: int = 16 << 20
    request_timeout: float = 30.0
    socket_timeout: float = 20.0
    header_timeout: float = 10.0

    FLAGS = {"max_elements": "--max-tensor-elements", "max_bytes": "--max-tensor-bytes",
             "max_rows": "--max-request-rows", "max_pixels": "--max-request-pixels",
             "rows_per_call": "--rows-per-call", "pixels_per_call": "--pixels-per-call",
             "request_timeout": "--request-timeout", "socket_timeout": "--socket-timeout",
             "header_timeout": "--header-timeout"}

    def __post_init__(self):
        for field in dataclasses.fields(self):
            if not getattr(self, field.name) > 0:
                raise ValueError(f"{self.FLAGS[field.name]}: expected a positive number, got "
                                 f"{getattr(self, field.name)}")

    def _refuse(self, name, what, field):
        return ServingError(f"{name}: {what}, over the limit of {getattr(self, field)} "
                            f"{'per input' if field in ('max_elements', 'max_bytes') else 'per request'} "
                            f"(zoo serve {self.FLAGS[field]})")

    def check_declared(self, name, dtype, shape, string_bytes=0):
        """Refuses an input whose declared `shape` (a list of ints) or size is over the caps."""
        if len(shape) > MAX_RANK or any(d < 0 for d in shape):
            raise ServingError(f"{name}: a shape of {len(shape)} dimensions {list(shape)[:MAX_RANK]}...; expected "
                               f"at most {MAX_RANK} non-negative dimensions")
        elements = math.prod(shape)
        if elements > self.max_elements:
            raise self._refuse(name, f"{elements} elements declared", "max_elements")
        size = string_bytes if dtype == tf.string else elements * tf.as_dtype(dtype).size
        if size > self.max_bytes:
            raise self._refuse(name, f"{size} bytes", "max_bytes")
        if shape and shape[0] > self.max_rows:
            raise self._refuse(name, f"{shape[0]} rows", "max_rows")

    def check_pixels(self, pixels):
        if pixels > self.max_pixels:
            raise self._refuse("images", f"{pixels} pixels in all", "max_pixels")


def row_pixels(tensors):
    """The image pixels of each row of a request's string inputs, `[rows]` (zeros for other inputs)."""
    pixels = None
    for tensor in tensors.values():
        if tensor.dtype == tf.string and tensor.shape.rank == 1:
            counts = np.array([image_pixels(item) for item in tensor.numpy()], np.int64)
            pixels = counts if pixels is None else pixels + counts
    return pixels


def batch_rows(tensors):
    """The rows the inputs share along dimension 0; `None` when some input has none or they differ."""
    sizes = {t.shape[0] for t in tensors.values() if t.shape.rank}
    return sizes.pop() if len(sizes) == 1 else None


def padded_concat(pieces):
    """Joins the outputs of several calls along dimension 0, padding every other axis to the widest
    (`""` strings, 0 numbers: how the zoo's signatures pad)."""
    joined = {}
    for name in pieces[0]:
        arrays = [piece[name] for piece in pieces]
        if any(a.ndim == 0 or a.ndim != arrays[0].ndim for a in arrays):
            raise ServingError(f"output {name} has no batch dimension to join calls on; send at most the "
                               "rows of one call (zoo serve --rows-per-call)", tf.errors.FAILED_PRECONDITION)
        widths = np.max([a.shape for a in arrays], axis=0)
        fill = b"" if arrays[0].dtype == object else 0
        joined[name] = np.concatenate([
            np.pad(a, [(0, 0)] + [(0, int(w) - d) for w, d in zip(widths[1:], a.shape[1:])], constant_values=fill)
            for a in arrays])
    return joined
