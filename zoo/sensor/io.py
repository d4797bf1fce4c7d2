"""Reading raw series from files for `zoo predict`."""

import io
import json
from pathlib import Path

import numpy as np

from zoo.validation import read_input_file


def read_series(path):
    """Reads series from `.npy` (`[T, C]` or `[B, T, C]`), `.csv` (one row per time step,
    one column per channel, optional header) or `.json` (a nested list, or an object
    with `"series"` or TF Serving's `"instances"`).

    Returns:
        A `[T, C]` / `[B, T, C]` array or a list of `[T_i, C]` arrays.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".csv", ".json"):
        raise ValueError(f"{path}: expected a .npy, .csv or .json file of shape (time, channels)")
    data = read_input_file(path, f"series ({suffix}, shape (time, channels))")
    try:
        if suffix == ".npy":
            return np.load(io.BytesIO(data), allow_pickle=False)
        text = data.decode("utf-8")
        if suffix == ".csv":
            lines = text.splitlines()
            rows = lines[1:] if lines and _is_header(lines[0]) else lines
            return np.loadtxt(rows, delimiter=",", ndmin=2, dtype=np.float32)
        content = json.loads(text)
        if isinstance(content, dict):
            content = content.get("series", content.get("instances"))
        if isinstance(content, list) and content and all(np.ndim(s) == 2 for s in content):
            return [np.asarray(s, np.float32) for s in content]
        return np.asarray(content, np.float32)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"{path}: cannot read series ({err})") from None


def _is_header(line):
    try:
        [float(cell) for cell in line.split(",")]
    except ValueError:
        return True
    return False
