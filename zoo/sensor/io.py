"""Reading raw series from files for `zoo predict`."""

import json
from pathlib import Path

import numpy as np


def read_series(path):
    """Reads series from `.npy` (`[T, C]` or `[B, T, C]`), `.csv` (one row per time step,
    one column per channel, optional header) or `.json` (a nested list, or an object
    with `"series"` or TF Serving's `"instances"`).

    Returns:
        A `[T, C]` / `[B, T, C]` array or a list of `[T_i, C]` arrays.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".csv":
            lines = path.read_text().splitlines()
            rows = lines[1:] if lines and _is_header(lines[0]) else lines
            return np.loadtxt(rows, delimiter=",", ndmin=2, dtype=np.float32)
        if suffix == ".json":
            content = json.loads(path.read_text())
            if isinstance(content, dict):
                content = content.get("series", content.get("instances"))
            if isinstance(content, list) and content and all(np.ndim(s) == 2 for s in content):
                return [np.asarray(s, np.float32) for s in content]
            return np.asarray(content, np.float32)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read series ({err})") from None
    raise ValueError(f"{path}: expected a .npy, .csv or .json file of shape (time, channels)")


def _is_header(line):
    try:
        [float(cell) for cell in line.split(",")]
    except ValueError:
        return True
    return False
