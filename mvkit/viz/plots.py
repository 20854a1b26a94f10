"""Plots for the training and ablation notebooks (02, 03): curves, CI bars, trend lines.

Results are tidy tables in the metrics convention: one row per (method, language, ...)
with a metric column such as ``RSum`` and its bootstrap interval in ``RSum_low`` /
``RSum_high`` (what :func:`mvkit.metrics.per_language_table` with ``ci=True`` gives).
:func:`results_frame` builds such a table from run records; every figure labels its
axes with units, has a legend when it has several series, and draws the interval
whenever the table carries one, so no method is compared on a bare number.
"""
from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

#: Axis labels with units for the metrics of :func:`mvkit.metrics.summarize`.
METRIC_LABELS = {
    "R1": "R@1 (%)", "R5": "R@5 (%)", "R10": "R@10 (%)",
    "MdR": "median rank (lower is better)", "MnR": "mean rank (lower is better)",
    "RSum": "RSum = R@1 + R@5 + R@10 (%)",
}


# ---- tables -------------------------------------------------------------------------
def _as_dict(run: Any) -> dict[str, Any]:
    return run.to_dict() if hasattr(run, "to_dict") else dict(run)


def history_frame(run: Any) -> tuple[pd.DataFrame, int | None, str | None]:
    """(per-epoch history, selected epoch, selection criterion) of one training run.

    ``run`` may be a :class:`~mvkit.train.record.RunRecord`, its JSON dict, its
    ``selection`` dict, a list of per-epoch dicts or a DataFrame with an ``epoch`` column.
    Nested entries are flattened with dots, so the trainer's per-language validation
    metrics are columns such as ``val.de.t2v.RSum``.
    """
    selected = criterion = None
    if isinstance(run, pd.DataFrame):
        hist = run
    elif isinstance(run, (list, tuple)):
        hist = pd.json_normalize(list(run))
    else:
        d = _as_dict(run)
        sel = d.get("selection", d)
        if "history" not in sel:
            raise ValueError(f"no training history found; keys: {sorted(d)}")
        hist = pd.json_normalize(sel["history"])
        selected, criterion = sel.get("selected_epoch"), sel.get("criterion")
    if "epoch" not in hist.columns:
        raise ValueError(f"training history needs an 'epoch' column, has {list(hist.columns)}")
    return hist.sort_values("epoch").reset_index(drop=True), selected, criterion


def results_frame(runs: Mapping[str, Any], direction: str = "t2v", split: str = "results") -> pd.DataFrame:
    """Tidy per-language results of several runs: ``method, language, R1..RSum, <m>_low, <m>_high``.

    ``runs`` maps a method name to a run record (or its dict, or its ``results`` dict:
    ``{lang: {"t2v": {...}, "ci": {"t2v": {metric: [low, high]}}}}``); ``split`` picks
    ``results`` (the reported split) or ``val_results``.
    """
    rows = []
    for method, run in runs.items():
        d = _as_dict(run)
        results = d.get(split, d)
        for lang, res in results.items():
            if direction not in res:
                raise ValueError(f"run {method!r}, language {lang!r}: no {direction!r} results "
                                 f"(has {sorted(res)})")
            row = {"method": method, "language": lang, **res[direction]}
            for m, (low, high) in (res.get("ci", {}).get(direction, {}) or {}).items():
                row[f"{m}_low"], row[f"{m}_high"] = low, high
            rows.append(row)
    return pd.DataFrame(rows)


def results_table(
    df: pd.DataFrame,
    metrics: Sequence[str] = ("R1", "R5", "R10", "RSum"),
    index: Sequence[str] = ("method",),
    digits: int = 1,
) -> pd.DataFrame:
    """Display table: one cell per metric, ``"value [low, high]"`` where an interval exists."""
    missing = [c for c in [*index, *metrics] if c not in df.columns]
    if missing:
        raise ValueError(f"results table: missing columns {missing}")
    out = df[list(index)].copy()
    for m in metrics:
        if f"{m}_low" in df.columns and f"{m}_high" in df.columns:
            out[m] = [f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
                      for v, lo, hi in zip(df[m], df[f"{m}_low"], df[f"{m}_high"])]
        else:
            out[m] = [f"{v:.{digits}f}" for v in df[m]]
    return out.set_index(list(index))


def _errors(df: pd.DataFrame, metric: str) -> np.ndarray | None:
    """Asymmetric error bar lengths ``[2, N]`` from ``<metric>_low/_high``, if present."""
    lo, hi = f"{metric}_low", f"{metric}_high"
    if lo not in df.columns or hi not in df.columns:
        return None
    v = df[metric].to_numpy(dtype=float)
    err = np.stack([v - df[lo].to_numpy(dtype=float), df[hi].to_numpy(dtype=float) - v])
    if (err < -1e-9).any():
        raise ValueError(f"{metric}: some values lie outside their interval [{lo}, {hi}]")
    return np.clip(err, 0, None)


# ---- figures ------------------------------------------------------------------------
def training_curves(
    runs: Any | Mapping[str, Any],
    *,
    loss_key: str = "loss",
    metric_key: str = "val_score",
    metric_label: str | None = None,
) -> Figure:
    """Training loss and validation score per epoch, the selected epoch marked (star + dashes).

    ``runs`` is one run (see :func:`history_frame`) or a mapping name -> run to overlay.
    The validation score is the one that selected the checkpoint (default: the
    trainer's ``val_score``); its label is the run's selection criterion when known.
    """
    if isinstance(runs, Mapping) and "selection" not in runs and "history" not in runs:
        items = list(runs.items())
    else:
        items = [("", runs)]
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for i, (name, run) in enumerate(items):
        hist, selected, criterion = history_frame(run)
        for key in (loss_key, metric_key):
            if key not in hist.columns:
                raise ValueError(f"run {name or 0!r}: history has no {key!r} column ({list(hist.columns)})")
        color = f"C{i}"
        label = name or None
        ax_loss.plot(hist["epoch"], hist[loss_key], marker="o", ms=3, color=color, label=label)
        ax_val.plot(hist["epoch"], hist[metric_key], marker="o", ms=3, color=color, label=label)
        if selected is None:   # no record of the choice: the best validation epoch
            selected = int(hist.loc[hist[metric_key].idxmax(), "epoch"])
        best = hist.loc[hist["epoch"] == selected, metric_key]
        if not best.empty:
            ax_val.axvline(selected, color=color, ls="--", lw=0.8)
            ax_val.plot([selected], [best.iloc[0]], marker="*", ms=12, color=color, ls="none",
                        label=f"{name + ': ' if name else ''}selected epoch {selected}")
        metric_label = metric_label or criterion
    ax_loss.set(xlabel="epoch", ylabel="training loss (mean per batch)", title="Training loss")
    ax_val.set(xlabel="epoch", ylabel=textwrap.fill(metric_label or metric_key, 40),
               title="Validation score (selects the checkpoint)")
    for ax in (ax_loss, ax_val):
        ax.xaxis.get_major_locator().set_params(integer=True)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, frameon=False)
    return fig


def ci_bar_chart(
    df: pd.DataFrame,
    *,
    x: str = "method",
    metric: str = "RSum",
    hue: str | None = None,
    title: str | None = None,
    ylabel: str | None = None,
    ax: plt.Axes | None = None,
) -> Figure:
    """Bars of ``metric`` per ``x`` (grouped by ``hue``) with their bootstrap intervals.

    For a results table per method use ``x="method"``; for per-language results use
    ``x="language", hue="method"``. Order follows first appearance in ``df``.
    """
    for col in [x, metric] + ([hue] if hue else []):
        if col not in df.columns:
            raise ValueError(f"ci_bar_chart: no column {col!r} in {list(df.columns)}")
    xs = list(dict.fromkeys(df[x]))
    hues = list(dict.fromkeys(df[hue])) if hue else [None]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(xs) * len(hues) + 1.5), 3.6), layout="constrained")
    width = 0.8 / len(hues)
    for j, h in enumerate(hues):
        sub = df if h is None else df[df[hue] == h]
        sub = sub.set_index(x).reindex(xs).dropna(subset=[metric]).reset_index()
        pos = np.array([xs.index(v) for v in sub[x]]) + (j - (len(hues) - 1) / 2) * width
        ax.bar(pos, sub[metric], width=width * 0.95, yerr=_errors(sub, metric), capsize=3,
               color=f"C{j}", label=None if h is None else str(h), error_kw={"lw": 1})
    ax.set_xticks(range(len(xs)), [str(v) for v in xs], rotation=30 if len(xs) > 5 else 0)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or METRIC_LABELS.get(metric, metric))
    has_ci = _errors(df, metric) is not None
    ax.set_title(title or f"{metric}{' with 95% bootstrap CI' if has_ci else ''}")
    if hue:
        ax.legend(title=hue, fontsize=8, frameon=False)
    return ax.figure


def metric_vs_condition(
    df: pd.DataFrame,
    *,
    x: str,
    metric: str = "R1",
    hue: str | None = "method",
    xlabel: str | None = None,
    title: str | None = None,
) -> Figure:
    """``metric`` against a varied condition (e.g. MT noise rate, fraction of training data).

    One line per ``hue`` value, markers at the measured points, the bootstrap interval
    as a shaded band when the table has one. Name the unit in ``xlabel`` (e.g.
    ``"MT noise rate (fraction of captions)"``).
    """
    for col in [x, metric] + ([hue] if hue else []):
        if col not in df.columns:
            raise ValueError(f"metric_vs_condition: no column {col!r} in {list(df.columns)}")
    fig, ax = plt.subplots(figsize=(5.6, 3.6), layout="constrained")
    groups = [(None, df)] if not hue else [(h, df[df[hue] == h]) for h in dict.fromkeys(df[hue])]
    for j, (h, sub) in enumerate(groups):
        sub = sub.sort_values(x)
        ax.plot(sub[x], sub[metric], marker="o", color=f"C{j}", label=None if h is None else str(h))
        if _errors(sub, metric) is not None:
            ax.fill_between(sub[x], sub[f"{metric}_low"], sub[f"{metric}_high"], color=f"C{j}", alpha=0.15, lw=0)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(title or f"{metric} vs {x}")
    if hue:
        ax.legend(title=hue, fontsize=8, frameon=False)
    return fig
