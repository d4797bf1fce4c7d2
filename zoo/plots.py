"""Figures the recipes write next to their logs, and views of what a model attends to.

Figures are `matplotlib.figure.Figure`s written straight to PNG, never
through `pyplot`: nothing here touches the process's matplotlib backend
(a notebook's stays as it is).
"""

import csv
from pathlib import Path

import numpy as np



def figure(**kwargs):
    """A `matplotlib.figure.Figure` (matplotlib is imported here, when a figure is drawn: a recipe's flags and
    `--help` need no `[train]` extra)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)

def plot_history(history_csv, path):
    """Training curves (every metric in Keras' CSV log, train vs validation) as a PNG."""
    with open(history_csv) as f:
        rows = list(csv.DictReader(f))
    metrics = [k for k in rows[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    fig = figure(figsize=(5 * len(metrics), 3.5))
    axes = fig.subplots(1, len(metrics), squeeze=False)
    epochs = [int(r["epoch"]) + 1 for r in rows]
    for ax, metric in zip(axes[0], metrics):
        ax.plot(epochs, [float(r[metric]) for r in rows], label="train")
        if f"val_{metric}" in rows[0]:
            ax.plot(epochs, [float(r[f"val_{metric}"]) for r in rows], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_confusion_matrix(matrix, class_names, path, title="confusion matrix"):
    matrix = np.asarray(matrix)
    size = 1.5 + 0.5 * len(class_names)
    fig = figure(figsize=(size + 1, size))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > matrix.max() / 2 else "black")
    fig.colorbar(image)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_attention(translation, path):
    """The attention matrix of one translation as a heatmap: source tokens across, target tokens down.

    Args:
        translation: one result of `Translator.translate(..., return_attention=True)`.
        path: where to write the PNG.

    Example:

    >>> import tempfile, zoo
    >>> out = {"source_tokens": ["Sea", "la", "luz"], "target_tokens": ["let", "there", "be", "light"],
    ...        "attention": np.eye(4, 3), "translation": "Let there be light"}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     zoo.plot_attention(out, f"{d}/attention.png").suffix
    '.png'
    """
    weights = np.asarray(translation["attention"], dtype=float)
    source, target = translation["source_tokens"], translation["target_tokens"]
    if weights.shape != (len(target), len(source)):
        raise ValueError(f"attention: expected shape (target tokens, source tokens) = ({len(target)}, "
                         f"{len(source)}), got {weights.shape}")
    fig = figure(figsize=(1.5 + 0.4 * len(source), 1.5 + 0.35 * len(target)))
    ax = fig.subplots()
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right")
    ax.set_yticks(range(len(target)), target)
    ax.set_xlabel("source")
    ax.set_ylabel("target")
    ax.set_title(translation.get("translation", ""), fontsize=9, wrap=True)
    fig.colorbar(image, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return Path(path)


def plot_caption_attention(result, path, columns=6):
    """Where a captioner looked for each word: the image, then one panel per word with its attention
    map upsampled (bilinear) over the image.

    Args:
        result: one result of `Captioner.caption(..., return_attention=True)`: `image` `[H, W, 3]` in
            [0, 1], `tokens` (T words), `attention` `[T, grid_h, grid_w]` and `caption`.
        path: where to write the PNG.
        columns: panels per row.

    An init-state captioner attends to nothing: its panels show the image under an empty map.

    Example:

    >>> import tempfile, zoo
    >>> out = {"image": np.zeros((64, 64, 3)), "tokens": ["a", "red", "circle"],
    ...        "attention": np.full((3, 8, 8), 1 / 64), "caption": "a red circle"}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     zoo.plot_caption_attention(out, f"{d}/caption.png").suffix
    '.png'
    """
    image = np.asarray(result["image"], dtype=float)
    tokens = list(result["tokens"])
    weights = np.asarray(result["attention"], dtype=float)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image: expected an RGB image (height, width, 3), got shape {image.shape}")
    if weights.ndim != 3 or weights.shape[0] != len(tokens):
        raise ValueError(f"attention: expected shape (tokens, grid_h, grid_w) with {len(tokens)} tokens, "
                         f"got {weights.shape}")
    height, width = image.shape[:2]
    panels = len(tokens) + 1
    columns = max(1, min(columns, panels))
    rows = -(-panels // columns)
    fig = figure(figsize=(2.0 * columns, 2.2 * rows + 0.4))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    axes.flat[0].imshow(np.clip(image, 0.0, 1.0), interpolation="nearest")
    axes.flat[0].set_title("image", fontsize=9)
    top = max(float(weights.max()), 1e-9) if weights.size else 1.0
    for ax, token, weight in zip(axes.flat[1:], tokens, weights):
        ax.imshow(np.clip(image, 0.0, 1.0), interpolation="nearest")
        ax.imshow(weight, cmap="inferno", alpha=0.6, vmin=0.0, vmax=top, interpolation="bilinear",
                  extent=(-0.5, width - 0.5, height - 0.5, -0.5))
        ax.set_title(token, fontsize=9)
    fig.suptitle(result.get("caption", " ".join(tokens)), fontsize=10, wrap=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return Path(path)
