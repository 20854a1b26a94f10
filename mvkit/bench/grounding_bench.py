"""`mvkit bench grounding`: what grounding costs on a CPU, each number against a target.

1. **Training** each model (``detr``, ``rgtr``) on the default grounding world with the
   claims' schedule (:data:`mvkit.grounding.claims.EPOCHS` epochs, English human queries,
   val every epoch): wall-clock seconds against the 3-minute target.
2. **Hungarian matching's share of a step**: the matcher times itself (cost matrices and
   ``linear_sum_assignment``) inside the same runs; its seconds over the training seconds.
3. **Evaluation of 10k query-video pairs**: the test queries repeated to 10,000, grounded
   by the trained RGTR and scored (all metrics, redundancy included) -- against the
   10-second target, and against the per-query Python reference loop of the tests
   (timed on a subsample in the same run, scaled to 10k) as the baseline.

``--quick`` uses the smoke world, one epoch and 1,000 pairs (the tests run it).
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

TARGET_TRAIN_SECONDS = 180.0
TARGET_EVAL_SECONDS = 10.0


def _iou(a: Any, b: Any) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def reference_query(spans: np.ndarray, valid: np.ndarray, gts: np.ndarray) -> list[float]:
    """The per-query loop a typical evaluation script runs (R1/R5 at two IoUs, mIoU, AP at 10 IoUs)."""
    wins = [tuple(s) for s, ok in zip(spans, valid) if ok]
    best = [max(_iou(w, g) for g in gts) for w in wins]
    out = [float(any(b >= t for b in best[:k])) for k in (1, 5) for t in (0.5, 0.7)] + [best[0]]
    for t in np.linspace(0.5, 0.95, 10):
        locked, tp = [False] * len(gts), []
        for w in wins[:10]:
            ious = [_iou(w, g) for g in gts]
            cand = [j for j in np.argsort(ious)[::-1] if ious[j] >= t and not locked[j]]
            if cand:
                locked[cand[0]] = True
            tp.append(1.0 if cand else 0.0)
        c = np.cumsum(tp)
        prec, rec = c / np.arange(1, len(tp) + 1), c / len(gts)
        mp = np.maximum.accumulate(np.concatenate([[0], prec, [0]])[::-1])[::-1]
        mr = np.concatenate([[0], rec, [1]])
        out.append(float(((mr[1:] - mr[:-1]) * mp[1:]).sum()))
    return out


def bench_training(world: Path, store: Path, models: tuple[str, ...], epochs: int, out: Path) -> dict[str, Any]:
    from mvkit.grounding.train import GroundingConfig, fit_grounding

    res = {}
    for m in models:
        t0 = time.perf_counter()
        rec = fit_grounding(GroundingConfig(data=str(world), store=str(store), out=str(out / m), model=m,
                                            epochs=epochs, bootstrap=0, eval_test=False))
        wall = time.perf_counter() - t0
        res[m] = {"wall_seconds": wall, "train_seconds": rec.timings["train_seconds"],
                  "match_seconds": rec.timings["match_seconds"], "match_share": rec.timings["match_share"],
                  "epochs": epochs, "steps_per_epoch": rec.timings["steps_per_epoch"],
                  "val_R1@0.5": rec.val_results["en"]["metrics"]["R1@0.5"],
                  "target_seconds": TARGET_TRAIN_SECONDS, "meets_target": wall <= TARGET_TRAIN_SECONDS,
                  "best": str(out / m / "best.safetensors")}
    return res


def bench_eval(dataset: Any, store: Any, best: str, n_pairs: int, n_reference: int = 300) -> dict[str, Any]:
    from mvkit.grounding.data import build_grounding_split
    from mvkit.grounding.evaluate import predict
    from mvkit.grounding.metrics import pad_windows, per_query
    from mvkit.grounding.train import load_grounding_model
    from mvkit.train.trainer import torch_threads

    test = build_grounding_split(dataset, store, "test", kinds=["human"])
    rows = np.resize(np.arange(len(test.queries)), n_pairs)
    big = test.select(torch.as_tensor(rows))
    model = load_grounding_model(best)
    t0 = time.perf_counter()
    with torch_threads(1):   # as training: one thread is fastest on a small, shared CPU
        ranked = predict(model, big)
    t_predict = time.perf_counter() - t0
    gt, gv = pad_windows(big.gt)
    t1 = time.perf_counter()
    values = per_query(ranked, gt, gv)
    t_metrics = time.perf_counter() - t1
    sub = min(n_reference, n_pairs)
    t2 = time.perf_counter()
    ref = [reference_query(ranked.spans[i], ranked.valid[i], big.gt[i]) for i in range(sub)]
    t_ref = (time.perf_counter() - t2) * n_pairs / sub
    ok = np.allclose(np.asarray(ref)[:, 0], values["R1@0.5"][:sub] / 100)
    total = t_predict + t_metrics
    return {"pairs": n_pairs, "predict_seconds": t_predict, "metrics_seconds": t_metrics, "total_seconds": total,
            "reference_metrics_seconds_scaled": t_ref, "metrics_speedup_vs_reference": t_ref / max(t_metrics, 1e-9),
            "reference_agrees": bool(ok), "target_seconds": TARGET_EVAL_SECONDS,
            "meets_target": total <= TARGET_EVAL_SECONDS}


def run(quick: bool = False, out: Path | None = None) -> dict[str, Any]:
    """All three measurements; a JSON-ready dict."""
    import tempfile

    from mvkit.data import load
    from mvkit.features.store import open_store
    from mvkit.grounding.claims import EPOCHS
    from mvkit.grounding.features import ensure_clip_store
    from mvkit.grounding.world import SMOKE_VIDEOS, ensure_grounding_world

    t0 = time.perf_counter()
    world = ensure_grounding_world(SMOKE_VIDEOS if quick else None)
    store_path = ensure_clip_store(world, progress=False)
    runs = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="mvkit-bench-grounding-"))
    train = bench_training(world, store_path, ("detr", "rgtr"), 1 if quick else EPOCHS, runs)
    ev = bench_eval(load(world), open_store(store_path), train["rgtr"]["best"], 1000 if quick else 10_000)
    return {"quick": quick, "world": str(world),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None},
            "training": train, "evaluation": ev, "total_seconds": time.perf_counter() - t0}


def report(res: dict[str, Any]) -> str:
    lines = []
    for m, r in res["training"].items():
        lines.append(f"train {m}: {r['wall_seconds']:.0f} s for {r['epochs']} epochs x {r['steps_per_epoch']} steps "
                     f"(target <= {r['target_seconds']:.0f} s: {'met' if r['meets_target'] else 'NOT met'}); "
                     f"Hungarian matching {r['match_seconds']:.1f} s = {100 * r['match_share']:.1f}% of the "
                     f"training steps; val R1@0.5 {r['val_R1@0.5']:.1f}")
    e = res["evaluation"]
    lines.append(f"evaluate {e['pairs']} query-video pairs: {e['total_seconds']:.2f} s (grounding "
                 f"{e['predict_seconds']:.2f} s + metrics {e['metrics_seconds']:.2f} s; target <= "
                 f"{e['target_seconds']:.0f} s: {'met' if e['meets_target'] else 'NOT met'}); metrics "
                 f"{e['metrics_speedup_vs_reference']:.0f}x faster than the per-query reference loop "
                 f"({e['reference_metrics_seconds_scaled']:.1f} s scaled), same values: {e['reference_agrees']}")
    la = res["machine"].get("load_average")
    if la:
        lines.append(f"machine: {res['machine']['cpus']} cpus, load average {la[0]:.1f} at the end (shared machines "
                     "slow every number down)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mvkit bench grounding", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke world, 1 epoch, 1k pairs (used by the tests)")
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    parser.add_argument("--runs", type=Path, default=None, help="where the training runs go (default: a temp dir)")
    args = parser.parse_args(argv)
    res = run(quick=args.quick, out=args.runs)
    print(report(res))
    if args.out is not None:
        from mvkit.io import atomic_write_json

        atomic_write_json(args.out, res)
        print(f"wrote {args.out}")
    ok = all(r["meets_target"] for r in res["training"].values()) and res["evaluation"]["meets_target"]
    return 0 if ok or args.quick else 1
