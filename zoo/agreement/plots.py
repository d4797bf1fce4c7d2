"""Accuracy by subject–verb distance and by attractors, for several models side by side."""

from pathlib import Path

import numpy as np

from zoo.plots import figure


def plot_accuracy_by_bucket(results, path, title="test"):
    """Grouped bars: for each model, accuracy per distance bucket (left) and per attractor count (right).

    Args:
        results: `{model name: agreement_metrics(...)}`, in legend order.
        path: where to write the PNG.

    Example:

    >>> import tempfile
    >>> from zoo.agreement.evaluation import agreement_metrics
    >>> m = agreement_metrics([0, 1, 1], [0, 1, 0], distances=[1, 6, 7], attractors=[0, 0, 1])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     plot_accuracy_by_bucket({"lstm": m}, f"{d}/buckets.png").suffix
    '.png'
    """
    fig = figure(figsize=(12, 4))
    axes = fig.subplots(1, 2)
    width = 0.8 / max(len(results), 1)
    for ax, key, xlabel in ((axes[0], "by_distance", "subject-verb distance (words)"),
                            (axes[1], "by_attractors", "attractors (nouns of the other number in between)")):
        buckets = list(next(iter(results.values()))[key])
        positions = np.arange(len(buckets))
        for i, (name, metrics) in enumerate(results.items()):
            values = [metrics[key][b]["accuracy"] or 0.0 for b in buckets]
            ax.bar(positions + (i - (len(results) - 1) / 2) * width, values, width, label=name)
        counts = next(iter(results.values()))[key]
        ax.set_xticks(positions, [f"{b}\n({counts[b]['examples']})" for b in buckets])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="lower left")
    fig.suptitle(f"number agreement, {title} (examples per bucket in brackets)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return Path(path)
