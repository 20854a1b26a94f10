"""``mvkit claims-grounding``: RGTR's claims on the embedded grounding world, with intervals.

One command builds the default grounding world and its clip features (once), trains the
variants the claims need (skipping finished runs), grounds the same test queries with
each and writes ``claims-grounding.json`` and ``claims-grounding.md``: per comparison the
two systems with 95% bootstrap intervals, their paired difference with its 95% paired
bootstrap interval, a paired permutation p-value and a verdict. Protocol: training on
English human queries (translate-train adds machine translations), checkpoints selected
on val, test queries are human queries, no NMS, hyper-parameters are the library's
defaults -- nothing was tuned on test, and the world was not tuned to make a method win.

Verdicts (as ``mvkit claims``): *reproduced* = difference in the claimed direction with a
95% interval that excludes 0 and p < 0.05; *inconclusive* = claimed direction, interval
includes 0 or p >= 0.05; *not reproduced* = zero or the opposite direction. The floor
rows are the issue's targets: *met* when the model's own 95% interval lies entirely
above the floor's (non-overlapping intervals), else *not met*.

    mvkit claims-grounding [--out DIR] [--smoke] [--epochs 15] [--seeds 1]
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mvkit.grounding.experiment import TT_LANGS

NON_EN = ("de", "fr", "es", "zh", "cs", "ru", "vi", "ja", "sw", "hi", "mr", "ta", "te", "kn", "ml")
EPOCHS = 15


@dataclass(frozen=True)
class Comparison:
    """A should beat B on ``metric`` (``lower``: A's value should be the smaller one)."""

    claim: str
    title: str
    a: str
    b: str
    metric: str
    queries: str = "en"
    lower: bool = False
    note: str = ""


def comparisons() -> list[Comparison]:
    return [
        Comparison("target", "RGTR above the sliding-window floor", "rgtr", "floor", "R1@0.5"),
        Comparison("target", "DETR baseline above the sliding-window floor", "detr", "floor", "R1@0.5"),
        Comparison("1", "anchor pairs beat learnable queries at R1@0.7", "rgtr", "detr", "R1@0.7"),
        Comparison("1", "anchor pairs beat learnable queries at mAP", "rgtr", "detr", "mAP"),
        Comparison("2", "fewer overlapping proposals (mean IoU of the top 5)", "rgtr", "detr", "top5_mean_iou",
                   lower=True),
        Comparison("2", "fewer near-duplicates in the top 5 (IoU >= 0.7)", "rgtr", "detr", "top5_duplicates",
                   lower=True),
        Comparison("3", "the IoU-aware head raises mAP", "rgtr", "rgtr_noiou", "mAP"),
        Comparison("context", "R1@0.5 of RGTR vs DETR", "rgtr", "detr", "R1@0.5"),
        Comparison("context", "translate-train vs English-only RGTR, non-English queries", "rgtr_tt", "rgtr",
                   "R1@0.5", queries="non-en", note=f"translate-train on {', '.join(TT_LANGS)}; 15 languages queried"),
    ]


def verdict(diff: float, low: float, high: float, p: float, lower: bool = False) -> str:
    """The verdict rule of the module doc (``lower``: a negative difference is the claimed one)."""
    d, lo, _ = (-diff, -high, -low) if lower else (diff, low, high)
    if d <= 0:
        return "not reproduced"
    return "reproduced" if lo > 0 and p < 0.05 else "inconclusive"


def run_claims(out: str | Path | None = None, epochs: int | None = None, seeds: Sequence[int] = (0,),
               smoke: bool | None = None, n_boot: int = 1000, progress: bool = True) -> dict[str, Any]:
    """Train, ground, compare; write ``claims-grounding.{json,md}`` under ``out`` and return the table.

    ``out=None``: the runs directory notebook 06 uses (:func:`~mvkit.grounding.experiment.runs_dir`),
    so the notebook and the claims share finished runs.
    """
    from mvkit._setup import smoke as smoke_env
    from mvkit.grounding.data import build_grounding_split
    from mvkit.grounding.evaluate import predict
    from mvkit.grounding.experiment import (
        floor_for,
        open_grounding_data,
        runs_dir,
        train_variant,
        variants,
    )
    from mvkit.grounding.metrics import pad_windows, per_query
    from mvkit.grounding.train import load_grounding_model
    from mvkit.io import atomic_write_json, atomic_write_text

    t0 = time.time()
    smoke = smoke_env() if smoke is None else smoke
    epochs = epochs or (2 if smoke else EPOCHS)
    dataset, store = open_grounding_data(progress=progress)
    out = Path(out) if out is not None else runs_dir(dataset, store)
    test = build_grounding_split(dataset, store, "test", langs=["en", *NON_EN], kinds=["human"])
    gt, gv = pad_windows(test.gt)
    en_rows = np.array([q.lang == "en" for q in test.queries])
    values: dict[str, list[dict[str, np.ndarray]]] = {"floor": [per_query(predict(floor_for(dataset, store), test),
                                                                         gt, gv)] * len(seeds)}
    timings = {}
    for v in variants(epochs).values():
        values[v.name] = []
        for seed in seeds:
            t = time.time()
            best = train_variant(v, dataset, store, out, epochs, seed, bootstrap=0 if smoke else 200)
            values[v.name].append(per_query(predict(load_grounding_model(best), test), gt, gv))
            timings[f"{v.name}-s{seed}"] = round(time.time() - t, 1)
    rows = [_compare(c, values, en_rows, n_boot) for c in comparisons()]
    per_lang = _per_language(values, test, n_boot)
    result = {"protocol": {"world": str(dataset.root), "store": str(store.path), "epochs": epochs, "seeds": list(seeds),
                           "train": "English human queries (rgtr_tt: + machine translations)",
                           "test": "human test queries; 'en' English, 'non-en' the 15 other languages pooled",
                           "selection": "val split only", "ranking": "descending score, no NMS",
                           "intervals": f"95% bootstrap over queries ({n_boot} resamples); paired bootstrap and "
                                        "permutation test for differences (seeds pooled as extra queries)",
                           "n_en": int(en_rows.sum()), "n_non_en": int((~en_rows).sum())},
              "rows": rows, "per_language": per_lang, "timings": timings, "seconds": round(time.time() - t0, 1),
              "out": str(out)}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "claims-grounding.json", result)
    atomic_write_text(out / "claims-grounding.md", to_markdown(result))
    return result


def _pooled(values: dict[str, list[dict[str, np.ndarray]]], name: str, metric: str, rows: np.ndarray) -> np.ndarray:
    return np.concatenate([v[metric][rows] for v in values[name]])


def _compare(c: Comparison, values: dict, en_rows: np.ndarray, n_boot: int) -> dict[str, Any]:
    from mvkit.grounding.metrics import bootstrap_grounding, paired_grounding

    rows = en_rows if c.queries == "en" else ~en_rows
    a, b = _pooled(values, c.a, c.metric, rows), _pooled(values, c.b, c.metric, rows)
    ia, ib = bootstrap_grounding(a, n_boot=n_boot), bootstrap_grounding(b, n_boot=n_boot)
    t = paired_grounding(a, b, c.metric, n_boot=n_boot, n_perm=n_boot)
    row = {**asdict(c), "n": int(a.size), "a_value": ia.estimate, "a_ci": [ia.low, ia.high],
           "b_value": ib.estimate, "b_ci": [ib.low, ib.high], "difference": t.difference,
           "diff_ci": [t.low, t.high], "p_value": t.p_value,
           "verdict": verdict(t.difference, t.low, t.high, t.p_value, c.lower)}
    if c.claim == "target":   # the target: A clearly above B, their intervals apart
        row["intervals_overlap"] = bool(ia.low <= ib.high and ib.low <= ia.high)
        row["verdict"] = "met" if ia.low > ib.high else "not met"
    return row


def _per_language(values: dict, test: Any, n_boot: int) -> list[dict[str, Any]]:
    from mvkit.grounding.metrics import bootstrap_grounding

    langs = np.array([q.lang for q in test.queries])
    out = []
    for lang in ["en", *NON_EN]:
        rows = langs == lang
        row: dict[str, Any] = {"language": lang, "n": int(rows.sum())}
        for name in ("floor", "detr", "rgtr", "rgtr_tt"):
            iv = bootstrap_grounding(_pooled(values, name, "R1@0.5", rows), n_boot=n_boot)
            row[name] = [iv.estimate, iv.low, iv.high]
        out.append(row)
    return out


def _fmt(v: float, ci: Sequence[float]) -> str:
    return f"{v:.1f} [{ci[0]:.1f}, {ci[1]:.1f}]"


def to_markdown(result: dict[str, Any]) -> str:
    """The claims table (and R1@0.5 per language) as Markdown."""
    p = result["protocol"]
    lines = [(f"Protocol: {p['train']}; {p['test']}; selection on {p['selection']}; {p['ranking']}; "
              f"{p['epochs']} epochs, seeds {p['seeds']}; {p['intervals']}."), "",
             "| claim | comparison | queries | metric | A | B | A - B [95% CI] | p | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        extra = "" if "intervals_overlap" not in r else (" (intervals overlap)" if r["intervals_overlap"]
                                                         else " (intervals do not overlap)")
        arrow = " (lower is better)" if r["lower"] else ""
        lines.append(f"| {r['claim']} | {r['title']}: {r['a']} vs {r['b']} | {r['queries']} (n={r['n']}) | "
                     f"{r['metric']}{arrow} | {_fmt(r['a_value'], r['a_ci'])} | {_fmt(r['b_value'], r['b_ci'])} | "
                     f"{_fmt(r['difference'], r['diff_ci'])} | {r['p_value']:.3f} | {r['verdict']}{extra} |")
    lines += ["", "R1@0.5 per language (human test queries; 95% bootstrap intervals):", "",
              "| language | n | floor | detr | rgtr | rgtr_tt |", "|---|---|---|---|---|---|"]
    for r in result["per_language"]:
        lines.append(f"| {r['language']} | {r['n']} | " + " | ".join(_fmt(r[k][0], r[k][1:])
                                                                   for k in ("floor", "detr", "rgtr", "rgtr_tt")) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``mvkit claims-grounding``: print and write the claims table."""
    ap = argparse.ArgumentParser(prog="mvkit claims-grounding", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help="runs and claims-grounding.{json,md} (default: the runs directory "
                    "of notebook 06 under MVKIT_HOME, so both reuse finished runs)")
    ap.add_argument("--epochs", type=int, default=None, help=f"training epochs (default {EPOCHS}; smoke 2)")
    ap.add_argument("--seeds", type=int, default=1, help="training seeds, pooled in the tests (default 1)")
    ap.add_argument("--smoke", action="store_true", help="tiny world and epochs (also MVKIT_SMOKE=1)")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap / permutation resamples")
    a = ap.parse_args(argv)
    if a.smoke:
        import os
        os.environ["MVKIT_SMOKE"] = "1"
    res = run_claims(a.out, a.epochs, tuple(range(a.seeds)), n_boot=a.boot)
    print(to_markdown(res))
    print(f"wrote {res['out']}/claims-grounding.json and .md in {res['seconds']:.0f} s")
    return 0
