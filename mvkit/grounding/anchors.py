"""Anchor pairs for RGTR: k-means over the training moments' (centre, width).

RGTR replaces DETR's free learnable moment queries by a set of anchor pairs, each a
(centre, width) in charge of one temporal region. The brief's initialisation: cluster the
training split's ground-truth moments (normalised by the video's duration) with k-means,
so the anchors cover where and how long moments really are. Plain Lloyd iterations from a
k-means++ start (Arthur & Vassilvitskii 2007), seeded: the same spans and seed always
give the same anchors, sorted by centre then width so query ``i`` has a stable meaning.
"""
from __future__ import annotations

import numpy as np


def kmeans_anchors(points: np.ndarray, k: int, seed: int = 0, iters: int = 100) -> np.ndarray:
    """``k`` cluster centres ``[k, 2]`` of ``points [N, 2]`` ((centre, width) in [0, 1])."""
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"kmeans_anchors: expected points [N, 2] with N > 0, got {x.shape}")
    if k < 1:
        raise ValueError(f"kmeans_anchors: k must be >= 1, got {k}")
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):                       # k-means++: far points are likelier next centres
        d2 = np.min(((x[:, None] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        centres.append(x[rng.choice(len(x), p=d2 / total)] if total > 0 else x[rng.integers(len(x))])
    c = np.asarray(centres)
    for _ in range(iters):
        assign = ((x[:, None] - c[None]) ** 2).sum(-1).argmin(1)
        new = np.array([x[assign == j].mean(0) if (assign == j).any() else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    c[:, 1] = np.clip(c[:, 1], 1e-3, 1.0)
    c[:, 0] = np.clip(c[:, 0], 0.0, 1.0)
    return c[np.lexsort((c[:, 1], c[:, 0]))]


def nearest_anchors(anchors: np.ndarray, points: np.ndarray, k: int = 1) -> np.ndarray:
    """``[M, k]`` indices of the ``k`` anchors nearest (Euclidean in (centre, width)) to each point."""
    d = ((np.asarray(points)[:, None] - np.asarray(anchors)[None]) ** 2).sum(-1)
    return np.argsort(d, axis=1, kind="stable")[:, :k]
