"""Figures of notebook 03: per-language paired differences and condition sweeps with intervals.

The tables come from :mod:`mvkit.analysis.compare` (``language_results`` and
``sweep_results``); absolute values per language are drawn by
:func:`mvkit.viz.plots.ci_bar_chart`. Here: the *difference* to the baseline, which is
what a paired test is about (bars with the paired 95% interval, a zero line, and a star
above significant bars), and a sweep panel per condition.
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mvkit.viz.plots import METRIC_LABELS, ci_bar_chart


def _axes(df: pd.DataFrame, x: str, hue: str) -> plt.Axes:
    """Axes sized for grouped bars: wide enough to read, never wider than a page."""
    n = df[x].nunique() * max(df[hue].nunique(), 1)
    _, ax = plt.subplots(figsize=(min(13.0, max(6.0, 0.22 * n + 2.0)), 3.8), layout="constrained")
    return ax


def per_language_chart(df: pd.DataFrame, *, metric: str = "R1", title: str | None = None,
                       ax: plt.Axes | None = None) -> Figure:
    """Per language, each variant's ``metric`` with its 95% bootstrap CI (grouped bars).

    ``df`` is :func:`mvkit.analysis.compare.language_results` output.
    """
    ax = ax if ax is not None else _axes(df, "language", "variant")
    fig = ci_bar_chart(df, x="language", hue="variant", metric=metric, ax=ax,
                       title=title or f"{metric} per test language (95% bootstrap CI)")
    _legend_outside(ax)
    return fig


def _legend_outside(ax: plt.Axes) -> None:
    """Legend to the right of the bars, where it hides none of them."""
    ax.legend(title="variant", fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def paired_difference_chart(df: pd.DataFrame, *, metric: str = "R1", baseline: str = "baseline",
                            alpha: float = 0.05, ax: plt.Axes | None = None) -> Figure:
    """Per language, each variant's paired difference to the baseline with its 95% CI.

    ``df`` is :func:`mvkit.analysis.compare.language_results` output (baseline rows, whose
    ``diff`` is NaN, are dropped). A star marks p < ``alpha`` (paired permutation test).
    """
    sub = df[df["diff"].notna()].reset_index(drop=True)
    if sub.empty:
        raise ValueError("no paired differences to draw (only the baseline's rows?)")
    unit = METRIC_LABELS.get(metric, metric)
    ax = ax if ax is not None else _axes(sub, "language", "variant")
    fig = ci_bar_chart(sub, x="language", metric="diff", hue="variant", ax=ax,
                       ylabel=f"\u0394 {unit} vs {baseline}",
                       title=f"Paired difference to {baseline}, 95% CI (* p < {alpha:g})")
    ax.axhline(0, color="black", lw=0.8)
    _legend_outside(ax)
    xs = list(dict.fromkeys(sub["language"]))
    hues = list(dict.fromkeys(sub["variant"]))
    width = 0.8 / len(hues)
    for _, r in sub[sub["p"] < alpha].iterrows():
        x = xs.index(r["language"]) + (hues.index(r["variant"]) - (len(hues) - 1) / 2) * width
        y = r["diff_high"] if r["diff"] >= 0 else r["diff_low"]
        ax.annotate("*", (x, y), ha="center", va="bottom" if r["diff"] >= 0 else "top", fontsize=11)
    return fig


def sweep_chart(frames: Sequence[tuple[pd.DataFrame, str, str]], *, metric: str = "R1",
                hue: str = "method", title: str | None = None) -> Figure:
    """One panel per swept condition: ``metric`` (pooled over languages) per method with its CI band.

    ``frames`` holds ``(table, condition column, x label with unit)`` triples, each a
    :func:`mvkit.analysis.compare.sweep_results` table. Panels share the y axis so a drop
    under noise and a drop under scarcity compare at a glance.
    """
    frames = [f for f in frames if len(f[0])]      # a condition that was not swept gets no panel
    if not frames:
        raise ValueError("sweep_chart needs at least one non-empty table")
    fig, axes = plt.subplots(1, len(frames), figsize=(4.8 * len(frames), 3.6), sharey=True,
                             layout="constrained", squeeze=False)
    for ax, (df, x, xlabel) in zip(axes[0], frames):
        for j, m in enumerate(dict.fromkeys(df[hue])):
            s = df[df[hue] == m].sort_values(x)
            ax.plot(s[x], s[metric], marker="o", color=f"C{j}", label=str(m))
            lo, hi = f"{metric}_low", f"{metric}_high"
            if lo in s.columns and hi in s.columns:
                ax.fill_between(s[x].to_numpy(float), s[lo].to_numpy(float), s[hi].to_numpy(float),
                                color=f"C{j}", alpha=0.15, lw=0)
        ax.set_xlabel(xlabel)
        ax.set_xticks(np.unique(df[x].to_numpy(float)))
    axes[0, 0].set_ylabel(METRIC_LABELS.get(metric, metric))
    axes[0, -1].legend(title=hue, fontsize=8, frameon=False)
    fig.suptitle(title or f"{metric} as conditions vary (bands: 95% bootstrap CI)")
    return fig
