"""Per-language tables: a run record as a tidy frame, and the one display formatter.

:func:`results_by_language` turns a run record into rows ``language, direction, metric,
metric_low, metric_high, chance_R1``; :func:`mvkit.analysis.compare.language_results` gives
rows per (variant, language) with paired differences. :func:`format_language_table` shows
either as ``"value [low, high]"`` cells (or paired differences with a ``*`` for p < alpha).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

#: metrics of the per-language table of one run; each carries its bootstrap 95% interval
TABLE_METRICS = ("R1", "R5", "R10", "MdR")


def results_by_language(record: Any, metrics: Sequence[str] = TABLE_METRICS, split: str = "results") -> pd.DataFrame:
    """Tidy per-language results of a run record: one row per (language, direction).

    Columns ``language, direction, n_queries, <m>, <m>_low, <m>_high`` and ``chance_R1``
    (100 / gallery size: what a random ranking scores); English first, then the other
    languages in the record's order, t2v before v2t. ``split``: ``"results"`` (test),
    ``"val_results"`` or ``"translate_test"``.
    """
    d = record.to_dict() if hasattr(record, "to_dict") else dict(record)
    results = d[split]
    rows = []
    for lang in sorted(results, key=lambda l: l != "en"):   # stable: keeps the others' order
        res = results[lang]
        for direction in ("t2v", "v2t"):
            n_gallery = res["n_videos"] if direction == "t2v" else res["n_captions"]
            row: dict[str, Any] = {"language": lang, "direction": direction,
                                   "n_queries": res["n_captions"] if direction == "t2v" else res.get("n_v2t_queries"),
                                   "chance_R1": 100.0 / max(n_gallery, 1)}
            ci = (res.get("ci") or {}).get(direction, {})
            for m in metrics:
                row[m] = float(res[direction][m])
                if m in ci:
                    row[f"{m}_low"], row[f"{m}_high"] = (float(x) for x in ci[m])
            rows.append(row)
    return pd.DataFrame(rows)


def format_language_table(df: pd.DataFrame, metric: str | Sequence[str] = "R1", what: str = "value",
                          digits: int = 1, alpha: float = 0.05, index: str = "language",
                          columns: str = "variant") -> pd.DataFrame:
    """Display table: ``index`` values (rows) x ``columns`` values, one cell per metric.

    ``what="value"``: ``"12.3 [10.1, 14.6]"`` (a metric without interval columns shows its
    value alone); with several metrics the columns are ``"<column> <metric>"``.
    ``what="diff"``: the paired difference vs the baseline, ``"+2.1 [+0.4, +3.9] *"`` where
    ``*`` marks p < ``alpha`` (baseline columns, which have no difference, are dropped).
    A run's table: ``format_language_table(results_by_language(rec), ("R1", "R5"), columns="direction")``;
    a sweep: ``index=<condition>, columns="method"``.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"language": ["de"], "variant": ["a"], "R1": [12.34], "R1_low": [10.0], "R1_high": [15.0]})
        >>> format_language_table(df).loc["de", "a"]
        '12.3 [10.0, 15.0]'
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    if what not in ("value", "diff"):
        raise ValueError(f"what must be 'value' or 'diff', got {what!r}")
    if what == "diff" and len(metrics) != 1:
        raise ValueError("what='diff' formats one metric's paired difference")
    d = digits
    tables = []
    for m in metrics:
        if what == "value":
            if f"{m}_low" in df.columns:
                cells = [f"{v:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]" for v, lo, hi in zip(df[m], df[f"{m}_low"], df[f"{m}_high"])]
            else:
                cells = [f"{v:.{d}f}" for v in df[m]]
            sub = df.assign(cell=cells)
        else:
            sub = df[df["diff"].notna()]
            cells = [f"{v:+.{d}f} [{lo:+.{d}f}, {hi:+.{d}f}]{' *' if p < alpha else ''}"
                     for v, lo, hi, p in zip(sub["diff"], sub["diff_low"], sub["diff_high"], sub["p"])]
            sub = sub.assign(cell=cells)
        t = sub.pivot(index=index, columns=columns, values="cell")
        t = t.loc[list(dict.fromkeys(sub[index])), list(dict.fromkeys(sub[columns]))]
        tables.append(t if len(metrics) == 1 else t.rename(columns=lambda c, m=m: f"{c} {m}"))
    if len(tables) == 1:
        return tables[0].rename_axis(index=index, columns=None)
    cols = list(dict.fromkeys(df[columns]))
    out = pd.concat(tables, axis=1)
    out = out[[f"{c} {m}" for c in cols for m in metrics]]
    return out.rename_axis(index=index, columns=None)
