"""Grounding metrics with the field's definitions, per query so they can be bootstrapped.

A system answers each query with a ranked list of windows ``[start, end]`` (seconds) and
scores. Ranking: by descending score; ties keep the given order (a stable sort, as the
QVHighlights evaluation's Python sort does). No NMS is applied here: what a model outputs
is what is scored (and what :func:`redundancy` measures). A query may have several
ground-truth windows (QVHighlights); Charades-STA and TACoS have one.

* ``R{k}@{t}`` (Charades-STA / TACoS "R@k, IoU=t"; QVHighlights "R1@t"): percent of queries
  for which one of the top ``k`` windows has IoU >= ``t`` with a ground-truth window.
  With several windows this is the IoU with the best-matching one (the QVHighlights rule:
  the top-1 window is compared with the ground-truth window of highest IoU).
* ``mIoU``: mean IoU (percent) of the top-1 window with its best ground-truth window.
* ``mAP@t`` (QVHighlights ``MR-mAP``): per query, average precision of the top
  ``MAP_TOP_K`` = 10 windows at IoU threshold ``t`` -- windows are taken in rank order and
  each is a true positive when an unmatched ground-truth window has IoU >= ``t`` with it
  (the one of highest IoU is then matched), precision is interpolated (VOC, all points:
  ``AP = sum_i (r_i - r_{i-1}) max_{j >= i} p_j``) over ``n_gt`` positives -- then averaged
  over queries. ``mAP`` averages ``mAP@t`` over ``t = 0.5, 0.55, ..., 0.95``.

Every metric is a mean of per-query values (:func:`per_query`), so intervals and paired
tests reuse :mod:`mvkit.metrics`' bootstrap and permutation machinery unchanged
(:func:`bootstrap_grounding`, :func:`paired_grounding`): the "ranks" handed to it are
query indices and the metric reads their values.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mvkit.grounding.spans import iou_cross
from mvkit.metrics.summary import Interval, PairedTest, bootstrap_ci, paired_test

RECALL_AT = ((1, 0.5), (1, 0.7), (5, 0.5), (5, 0.7))
MAP_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
MAP_TOP_K = 10
REDUNDANCY_TOP_K = 5
DUPLICATE_IOU = 0.7
METRICS = ("R1@0.5", "R1@0.7", "R5@0.5", "R5@0.7", "mIoU", "mAP@0.5", "mAP@0.75", "mAP")
REDUNDANCY = ("top5_mean_iou", "top5_duplicates")


@dataclass
class Ranked:
    """Ranked windows of ``Q`` queries: ``spans [Q, K, 2]`` (seconds), ``valid [Q, K]`` (padding is False)."""

    spans: np.ndarray
    valid: np.ndarray


def rank(spans: np.ndarray, scores: np.ndarray, valid: np.ndarray | None = None) -> Ranked:
    """Sort each query's windows by descending score (stable); invalid (padded) windows go last.

    ``spans [Q, K, 2]``, ``scores [Q, K]``, ``valid [Q, K]`` (default: all valid).
    """
    spans, scores = np.asarray(spans, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    if spans.ndim != 3 or spans.shape[-1] != 2 or scores.shape != spans.shape[:2]:
        raise ValueError(f"rank: expected spans [Q, K, 2] and scores [Q, K], got {spans.shape} and {scores.shape}")
    valid = np.ones(scores.shape, bool) if valid is None else np.asarray(valid, bool)
    key = np.where(valid, -scores, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    return Ranked(np.take_along_axis(spans, order[..., None], axis=1), np.take_along_axis(valid, order, axis=1))


def pad_windows(windows: Sequence[Sequence[Sequence[float]]], what: str = "windows") -> tuple[np.ndarray, np.ndarray]:
    """Lists of ``[start, end, ...]`` per query -> ``(float [Q, G, 2], valid [Q, G])``."""
    g = max((len(w) for w in windows), default=0)
    out, valid = np.zeros((len(windows), max(g, 1), 2)), np.zeros((len(windows), max(g, 1)), bool)
    for i, ws in enumerate(windows):
        for j, w in enumerate(ws):
            out[i, j] = (float(w[0]), float(w[1]))
            valid[i, j] = True
    return out, valid


def _best_iou(ranked: Ranked, gt: np.ndarray, gt_valid: np.ndarray) -> np.ndarray:
    """``[Q, K]``: IoU of each ranked window with its best ground-truth window (0 for padding)."""
    iou = iou_cross(ranked.spans, gt)                             # [Q, K, G]
    iou = np.where(gt_valid[:, None, :], iou, -1.0).max(-1)
    return np.where(ranked.valid, np.maximum(iou, 0.0), 0.0)


def average_precision(ranked: Ranked, gt: np.ndarray, gt_valid: np.ndarray,
                      thresholds: Sequence[float] = MAP_THRESHOLDS, top_k: int = MAP_TOP_K) -> np.ndarray:
    """Per-query interpolated AP ``[Q, len(thresholds)]`` of the top ``top_k`` windows (module doc)."""
    spans, valid = ranked.spans[:, :top_k], ranked.valid[:, :top_k]
    iou = iou_cross(spans, gt)                                    # [Q, K, G]
    n_gt = gt_valid.sum(1).astype(np.float64)
    q, k = valid.shape
    out = np.zeros((q, len(thresholds)))
    rows = np.arange(q)
    for ti, t in enumerate(thresholds):
        locked = ~gt_valid.copy()
        tp = np.zeros((q, k))
        for r in range(k):
            cand = (iou[:, r] >= t) & ~locked & valid[:, r, None]
            best = np.where(cand, iou[:, r], -1.0)
            j = best.argmax(1)
            hit = cand[rows, j]
            tp[hit, r] = 1.0
            locked[rows[hit], j[hit]] = True
        fp = valid & (tp == 0)
        tp_c, fp_c = np.cumsum(tp, 1), np.cumsum(fp, 1)
        rec = tp_c / n_gt[:, None]
        prec = np.divide(tp_c, tp_c + fp_c, out=np.zeros_like(tp_c), where=(tp_c + fp_c) > 0)
        mrec = np.concatenate([np.zeros((q, 1)), rec, np.ones((q, 1))], 1)
        mprec = np.concatenate([np.zeros((q, 1)), prec, np.zeros((q, 1))], 1)
        mprec = np.maximum.accumulate(mprec[:, ::-1], axis=1)[:, ::-1]
        out[:, ti] = ((mrec[:, 1:] - mrec[:, :-1]) * mprec[:, 1:]).sum(1)
    return out


def redundancy(ranked: Ranked, top_k: int = REDUNDANCY_TOP_K, dup_iou: float = DUPLICATE_IOU) -> dict[str, np.ndarray]:
    """What RGTR says DETR queries suffer from, per query, over the top ``top_k`` windows.

    ``top5_mean_iou``: mean IoU over the pairs of top windows (percent); ``top5_duplicates``:
    percent of the top windows after the first that overlap a higher-ranked one with IoU >=
    ``dup_iou`` (what NMS at that threshold would remove). Queries with fewer than two
    windows count 0.
    """
    spans, valid = ranked.spans[:, :top_k], ranked.valid[:, :top_k]
    iou = iou_cross(spans, spans)
    pair = valid[:, :, None] & valid[:, None, :]
    upper = np.triu(np.ones(iou.shape[1:], bool), 1)[None]
    n_pairs = (pair & upper).sum((1, 2))
    mean_iou = np.divide((iou * (pair & upper)).sum((1, 2)), n_pairs, out=np.zeros(len(iou)), where=n_pairs > 0)
    lower = np.tril(np.ones(iou.shape[1:], bool), -1)[None]        # [r, j]: j ranked above r
    dup = ((iou >= dup_iou) & pair & lower).any(2)[:, 1:]
    n_after = valid[:, 1:].sum(1)
    dup_share = np.divide(dup.sum(1), n_after, out=np.zeros(len(iou)), where=n_after > 0)
    return {"top5_mean_iou": 100.0 * mean_iou, "top5_duplicates": 100.0 * dup_share}


def per_query(ranked: Ranked, gt: np.ndarray, gt_valid: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric's per-query value (percent): their means are the reported numbers."""
    gt, gt_valid = np.asarray(gt, dtype=np.float64), np.asarray(gt_valid, bool)
    if gt.shape[0] != ranked.spans.shape[0] or gt.shape[:2] != gt_valid.shape:
        raise ValueError(f"per_query: {ranked.spans.shape[0]} ranked queries but ground truth {gt.shape}")
    empty = np.flatnonzero(~gt_valid.any(1))
    if empty.size:
        raise ValueError(f"per_query: queries {empty[:10].tolist()} have no ground-truth window "
                         "(a test release without windows cannot be scored locally)")
    best = _best_iou(ranked, gt, gt_valid)
    out = {f"R{k}@{t}": 100.0 * (best[:, :k] >= t).any(1) for k, t in RECALL_AT}
    out["mIoU"] = 100.0 * best[:, 0]
    ap = average_precision(ranked, gt, gt_valid)
    out["mAP@0.5"] = 100.0 * ap[:, MAP_THRESHOLDS.index(0.5)]
    out["mAP@0.75"] = 100.0 * ap[:, MAP_THRESHOLDS.index(0.75)]
    out["mAP"] = 100.0 * ap.mean(1)
    out.update(redundancy(ranked))
    return out


def summarize_grounding(values: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Means of the per-query values (the reported metrics, percent)."""
    return {k: float(np.mean(v)) for k, v in values.items()}


def _index_metric(values: np.ndarray):
    """A metric for :func:`mvkit.metrics.bootstrap_ci`: 1-based "ranks" are query indices."""
    v = np.asarray(values, dtype=np.float64)
    return lambda r: v[np.asarray(r) - 1].mean(axis=-1)


def bootstrap_grounding(values: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """Percentile bootstrap CI over queries of the mean of per-query ``values``."""
    idx = np.arange(1, len(values) + 1)
    return bootstrap_ci(idx, _index_metric(values), n_boot=n_boot, seed=seed, level=level)


def paired_grounding(a: np.ndarray, b: np.ndarray, metric: str = "R1@0.5", n_boot: int = 1000,
                     n_perm: int = 1000, seed: int = 0, level: float = 0.95) -> PairedTest:
    """Two systems' per-query values on the same queries: difference, paired CI and p-value.

    ``a``, ``b``: the values of ``metric`` for query ``i`` in both. Query ``i`` of system a
    is "rank" ``i`` and of system b "rank" ``Q + i`` into the joined values, so the paired
    bootstrap resamples both together and the permutation test swaps them per query.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired_grounding needs the same queries: got {a.shape} and {b.shape}")
    q = a.size
    test = paired_test(np.arange(1, q + 1), np.arange(q + 1, 2 * q + 1), _index_metric(np.concatenate([a, b])),
                       n_boot=n_boot, n_perm=n_perm, seed=seed, level=level)
    return PairedTest(metric, *(getattr(test, f) for f in ("a", "b", "difference", "low", "high", "p_value",
                                                            "level", "n_boot", "n_perm")))


@dataclass
class GroundingResult:
    """Metrics of one system on one query set, with their protocol and per-query values."""

    protocol: dict[str, Any]
    metrics: dict[str, float]
    values: dict[str, np.ndarray] = field(repr=False)
    query_ids: list[str] = field(default_factory=list, repr=False)
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "metrics": self.metrics, "ci": self.ci, "n": len(self.query_ids)}


def grounding_table(results: Mapping[str, GroundingResult], metrics: Sequence[str] = METRICS,
                    ci: bool = True) -> pd.DataFrame:
    """One row per key (a language, a system) with n, the metrics and, with ``ci``, their 95% bounds."""
    rows = []
    for key, res in results.items():
        row: dict[str, Any] = {"key": key, "n": len(res.query_ids)}
        for m in metrics:
            row[m] = res.metrics[m]
            if ci and m in res.ci:
                row[f"{m}_low"], row[f"{m}_high"] = res.ci[m]
        rows.append(row)
    return pd.DataFrame(rows).set_index("key")
