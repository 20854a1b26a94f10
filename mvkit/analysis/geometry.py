"""Numbers that describe a joint text-video embedding space (the numbers beside notebook 05's map).

* **Modality gap** (Liang et al., NeurIPS 2022, "Mind the Gap"): the distance between the
  centroid of the L2-normalised video embeddings and that of the normalised text
  embeddings. Contrastive models keep the two modalities in separate cones; the gap says
  how far apart.
* **Language gap**: the same centroid distance between the captions of two languages;
  cross-lingual training should shrink it (a matrix over language pairs).
* **Alignment and uniformity** (Wang & Isola, ICML 2020), on normalised embeddings:
  ``alignment = E_{(x,y) positive} ||f(x) - f(y)||_2^alpha`` (lower: positives closer) and
  ``uniformity = log E_{x != y} exp(-t ||f(x) - f(y)||_2^2)`` (lower: more spread out), with
  the paper's ``alpha = 2`` and ``t = 2``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist
from scipy.special import logsumexp


def _as_matrix(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().float().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty [N, D] matrix, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def l2_normalize(x: Any, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit L2 norm (all-zero rows stay zero)."""
    arr = _as_matrix(x, "embeddings")
    return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), eps)


def centroid_distance(a: Any, b: Any, normalize: bool = True) -> float:
    """Euclidean distance between the mean rows of ``a`` and ``b`` (rows normalised first)."""
    a, b = _as_matrix(a, "a"), _as_matrix(b, "b")
    if normalize:
        a, b = l2_normalize(a), l2_normalize(b)
    return float(np.linalg.norm(a.mean(axis=0) - b.mean(axis=0)))


def modality_gap(video_emb: Any, text_emb: Any, normalize: bool = True) -> float:
    """Distance between the video and text centroids of normalised embeddings (Liang et al. 2022)."""
    return centroid_distance(video_emb, text_emb, normalize=normalize)


def language_gap(
    text_emb: Any,
    langs: Sequence[str],
    languages: Sequence[str] | None = None,
    normalize: bool = True,
) -> pd.DataFrame:
    """Symmetric matrix of centroid distances between the captions of each pair of languages.

    ``langs`` gives each row's language; ``languages`` fixes the order (default: sorted).
    """
    x = _as_matrix(text_emb, "text_emb")
    langs = np.asarray(list(langs))
    if langs.shape[0] != x.shape[0]:
        raise ValueError(f"{langs.shape[0]} language labels for {x.shape[0]} text embeddings")
    if normalize:
        x = l2_normalize(x)
    languages = list(languages) if languages is not None else sorted(set(langs.tolist()))
    missing = [l for l in languages if not (langs == l).any()]
    if missing:
        raise ValueError(f"no text embeddings for languages {missing}")
    cents = np.stack([x[langs == l].mean(axis=0) for l in languages])
    dist = np.linalg.norm(cents[:, None, :] - cents[None, :, :], axis=-1)
    return pd.DataFrame(dist, index=languages, columns=languages)


def alignment(x: Any, y: Any, alpha: float = 2.0, normalize: bool = True) -> float:
    """Wang & Isola alignment: mean ``||x_i - y_i||^alpha`` over the positive pairs (rows)."""
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"alignment pairs rows of x and y; shapes differ: {x.shape} vs {y.shape}")
    if normalize:
        x, y = l2_normalize(x), l2_normalize(y)
    return float((np.linalg.norm(x - y, axis=1) ** alpha).mean())


def uniformity(
    x: Any,
    t: float = 2.0,
    normalize: bool = True,
    max_points: int | None = 2048,
    seed: int = 0,
) -> float:
    """Wang & Isola uniformity: ``log mean_{i<j} exp(-t ||x_i - x_j||^2)``.

    Above ``max_points`` rows a seeded random subset is used (the pair count grows
    quadratically); computed with log-sum-exp so large ``t`` does not underflow.
    """
    arr = _as_matrix(x, "x")
    if arr.shape[0] < 2:
        raise ValueError("uniformity needs at least two embeddings")
    if normalize:
        arr = l2_normalize(arr)
    if max_points is not None and arr.shape[0] > max_points:
        keep = np.random.default_rng(seed).choice(arr.shape[0], size=max_points, replace=False)
        arr = arr[np.sort(keep)]
    sq = pdist(arr, "sqeuclidean")
    return float(logsumexp(-t * sq) - np.log(sq.size))


def geometry_summary(
    video_emb: Any,
    text_emb: Any,
    caption_video: Any,
    langs: Sequence[str] | None = None,
) -> dict[str, float]:
    """The numbers beside an embedding map, for one model.

    ``caption_video`` gives each caption's video row (ints ``[Q]``); alignment is taken
    over these caption-video pairs. With ``langs`` the mean off-diagonal language gap is
    included (``nan`` with a single language).
    """
    v, t = _as_matrix(video_emb, "video_emb"), _as_matrix(text_emb, "text_emb")
    cv = np.asarray(caption_video, dtype=np.int64).reshape(-1)
    if cv.shape[0] != t.shape[0] or (cv.size and (cv.min() < 0 or cv.max() >= v.shape[0])):
        raise ValueError(f"caption_video must give a video row in [0, {v.shape[0]}) for each of "
                         f"the {t.shape[0]} captions")
    out = {
        "modality_gap": modality_gap(v, t),
        "alignment": alignment(t, v[cv]),
        "uniformity_text": uniformity(t),
        "uniformity_video": uniformity(v) if v.shape[0] > 1 else float("nan"),
    }
    if langs is not None:
        gap = language_gap(t, langs).to_numpy()
        n = gap.shape[0]
        out["language_gap"] = float(gap[~np.eye(n, dtype=bool)].mean()) if n > 1 else float("nan")
    return out
