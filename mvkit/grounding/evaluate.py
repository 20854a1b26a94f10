"""Ground every query of a split, score it per language, and say how it was scored.

:func:`predict` runs a model (or the floor) over a :class:`~mvkit.grounding.data.GroundingSplit`
in batches and returns each query's windows (seconds) and scores; :func:`evaluate_grounding`
ranks them and reports, per language, the metrics of :mod:`mvkit.grounding.metrics` with
95% bootstrap intervals over queries, each result carrying its protocol. The selection
score the trainer maximises on **val** is :func:`selection_score`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from mvkit.grounding.data import GroundingSplit
from mvkit.grounding.metrics import (
    METRICS,
    REDUNDANCY,
    GroundingResult,
    Ranked,
    bootstrap_grounding,
    pad_windows,
    per_query,
    rank,
    summarize_grounding,
)

SELECTION_CRITERION = "mean over languages of R1@0.5 + R1@0.7 + mAP (val)"


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The batch with every tensor on ``device`` (feature dicts, target lists, the rest)."""
    mv = lambda x: x.to(device) if isinstance(x, torch.Tensor) else x
    return {k: ({s: mv(t) for s, t in v.items()} if isinstance(v, dict) else
                [mv(t) for t in v] if k == "targets" else mv(v)) for k, v in batch.items()}


@torch.inference_mode()
def predict(model: Any, split: GroundingSplit, batch_size: int = 256, device: Any = "cpu") -> Ranked:
    """Every query's windows ranked by score: :class:`~mvkit.grounding.metrics.Ranked` ``[Q, K]``.

    Queries are batched by their video's length (less padding); results come back in query order.
    """
    device = torch.device(device)
    model.eval()
    n = len(split.queries)
    order = torch.argsort(split.clip_mask[split.q_video].sum(1), stable=True)
    spans: list[np.ndarray] = [np.zeros((0, 2))] * n
    scores: list[np.ndarray] = [np.zeros(0)] * n
    for s in range(0, n, batch_size):
        rows = order[s:s + batch_size]
        sp, sc = model.predict(to_device(split.batch(rows, targets=False), device))
        for r, a, b in zip(rows.tolist(), sp.float().cpu().numpy(), sc.float().cpu().numpy()):
            spans[r], scores[r] = a, b
    k = max((len(x) for x in scores), default=0)
    out_s, out_c = np.zeros((n, k, 2)), np.full((n, k), -np.inf)
    for i, (sp, sc) in enumerate(zip(spans, scores)):
        out_s[i, :len(sp)], out_c[i, :len(sc)] = sp, sc
    return rank(out_s, out_c, np.isfinite(out_c))


def result_for(ranked: Ranked, split: GroundingSplit, rows: Sequence[int], protocol: dict[str, Any],
               bootstrap: int = 1000, seed: int = 0) -> GroundingResult:
    """Metrics (and intervals, unless ``bootstrap`` is 0) of the queries at ``rows``."""
    rows = np.asarray(rows, dtype=np.int64)
    gt, gv = pad_windows([split.gt[i] for i in rows])
    values = per_query(Ranked(ranked.spans[rows], ranked.valid[rows]), gt, gv)
    ci = {}
    if bootstrap:
        for m in (*METRICS, *REDUNDANCY):
            iv = bootstrap_grounding(values[m], n_boot=bootstrap, seed=seed)
            ci[m] = (iv.low, iv.high)
    return GroundingResult({**protocol, "n_queries": len(rows)}, summarize_grounding(values), values,
                           [split.queries[i].caption_id for i in rows], ci)


def evaluate_grounding(model: Any, split: GroundingSplit, langs: Sequence[str] | None = None,
                       bootstrap: int = 1000, seed: int = 0, device: Any = "cpu", selection_split: str = "val",
                       ranked: Ranked | None = None) -> dict[str, GroundingResult]:
    """``{lang: GroundingResult}`` on ``split`` (queries of each language ranked once, together)."""
    ranked = predict(model, split, device=device) if ranked is None else ranked
    langs = sorted(set(split.langs)) if langs is None else list(langs)
    out = {}
    for lang in langs:
        rows = [i for i, q in enumerate(split.queries) if q.lang == lang]
        if not rows:
            raise ValueError(f"split {split.split!r} has no grounding queries in language {lang!r}")
        protocol = {"task": "temporal sentence grounding", "split": split.split, "language": lang,
                    "selection_split": selection_split, "ranking": "descending score, stable; no NMS",
                    "recall": "R@k: a top-k window with IoU >= t with a ground-truth window",
                    "map": "QVHighlights: per-query AP of the top 10, IoU 0.5:0.05:0.95",
                    "ci": {"level": 0.95, "method": "bootstrap over queries", "n": bootstrap}}
        out[lang] = result_for(ranked, split, rows, protocol, bootstrap, seed)
    return out


def selection_score(results: dict[str, GroundingResult]) -> float:
    """What checkpoint selection maximises on val: see :data:`SELECTION_CRITERION`."""
    return float(np.mean([r.metrics["R1@0.5"] + r.metrics["R1@0.7"] + r.metrics["mAP"] for r in results.values()]))
