"""Plots of positives found against labels spent (the paper's Figure 9 axes)."""

from __future__ import annotations

from pathlib import Path

from ._io import atomic_write


def plot_discovery(curves: dict[str, list], total_positives: int, path, title: str = "") -> Path:
    """Step curves of (oracle queries, positives found), one per strategy, saved as PNG.

    ``curves`` maps a label to a list of ``(queries, found)`` points. A dashed line marks
    the number of positives in the pool that were not seeds.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for label, points in curves.items():
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        ax.step(xs, ys, where="post", marker="o", markersize=3, label=label)
    ax.axhline(total_positives, color="grey", linestyle="--", linewidth=1, label=f"positives to find ({total_positives})")
    ax.set_xlabel("labels spent (oracle queries)")
    ax.set_ylabel("positives found")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = Path(path)
    atomic_write(path, lambda fh: fig.savefig(fh, format="png"))
    plt.close(fig)
    return path
