"""Plots of positives found against labels spent (the paper's Figure 9 axes)."""

from __future__ import annotations

from pathlib import Path

from ._io import atomic_write


def plot_simulations(docs: list[dict], path, title: str | None = None) -> Path:
    """``elsa simulate`` results (its JSON documents) as :func:`plot_discovery` curves: one
    per document, the median over its runs, labelled with its strategy (and settings that
    differ between documents). The dashed line marks the positives to find when every
    document searched the same pool for the same class."""
    from .metrics import median_curve

    curves, totals, pools = {}, set(), set()
    for i, doc in enumerate(docs):
        runs = doc["runs"]
        found = sorted(r["found"] for r in runs)[len(runs) // 2]
        queries = sorted(r["queries"] for r in runs)[len(runs) // 2]
        label = f"{doc.get('strategy', f'file {i + 1}')} ({found} found, {queries} labels"
        label += f", median of {len(runs)} runs)" if len(runs) > 1 else ")"
        while label in curves:
            label += " "
        curves[label] = median_curve([r["curve"] for r in runs])
        p = doc.get("params") or {}
        pools.add((p.get("target"), p.get("pool_size")))
        totals.add((runs[0].get("total_positives", 0) - runs[0].get("n_seeds", 0), p.get("target"), p.get("pool_size")))
    total = next(iter(totals))[0] if len(totals) == 1 else None
    if title is None:
        target, size = next(iter(pools))
        title = f"class {target} in a pool of {size:,}" if len(pools) == 1 and size else ""
    return plot_discovery(curves, total, path, title=title)


def plot_discovery(curves: dict[str, list], total_positives: int | None, path, title: str = "") -> Path:
    """Step curves of (oracle queries, positives found), one per strategy, saved as PNG.

    ``curves`` maps a label to a list of ``(queries, found)`` points. A dashed line marks
    the number of positives in the pool that were not seeds (none when it is None).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for label, points in curves.items():
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        ax.step(xs, ys, where="post", marker="o", markersize=3, label=label)
    if total_positives is not None:
        ax.axhline(total_positives, color="grey", linestyle="--", linewidth=1,
                   label=f"positives to find ({total_positives})")
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
