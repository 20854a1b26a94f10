"""Embedding maps: videos and captions in one 2-D picture, with the geometry numbers beside it.

Notebook 05 asks two questions of a joint space: do the modalities mix (or sit in two
cones, the *modality gap*), and do the languages mix (translations of one caption land
together, or each language forms its own island)? One panel colours points by modality,
one by language with translations of the same caption joined by thin lines, and a small
table gives the numbers from :mod:`mvkit.analysis.geometry`, so the picture is never
read without them.

UMAP (umap-learn) runs with a fixed ``random_state``; its first fit in a process pays
numba compilation (~10-15 s), so smoke runs use ``method="pca"``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from mvkit.analysis.geometry import geometry_summary, l2_normalize

VIDEO_COLOR = "#444444"
TEXT_COLOR = "#1f77b4"
_ROW_LABELS = {
    "modality_gap": "modality gap",
    "language_gap": "language gap (mean)",
    "alignment": "alignment",
    "uniformity_text": "uniformity (text)",
    "uniformity_video": "uniformity (video)",
}


def project_2d(
    x: Any,
    method: str = "umap",
    random_state: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
) -> np.ndarray:
    """Project rows of ``x`` (L2-normalised first) to 2-D with UMAP or PCA.

    PCA is exact and instant (signs fixed so each component's largest loading is
    positive, making the picture repeatable); UMAP shows neighbourhoods better.
    """
    arr = l2_normalize(x)
    n = arr.shape[0]
    if method == "pca":
        centred = arr - arr.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        comps = vt[:2]
        signs = np.sign(comps[np.arange(comps.shape[0]), np.abs(comps).argmax(axis=1)])
        out = centred @ (comps * signs[:, None]).T
        if out.shape[1] < 2:   # one-dimensional data: pad the second axis
            out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
        return out
    if method == "umap":
        if n < 4:
            raise ValueError(f"UMAP needs at least 4 points, got {n}; use method='pca'")
        import umap  # heavy import (numba): only when asked for

        reducer = umap.UMAP(n_components=2, n_neighbors=max(2, min(n_neighbors, n - 1)),
                            min_dist=min_dist, metric="cosine", random_state=random_state,
                            n_jobs=1)  # a seed forces one thread anyway; saying so avoids a warning
        return np.asarray(reducer.fit_transform(arr), dtype=np.float64)
    raise ValueError(f"unknown projection method {method!r}; use 'umap' or 'pca'")


def language_colors(langs: Sequence[str]) -> dict[str, Any]:
    """A fixed colour per language (sorted order, tab10/tab20), shared by all panels."""
    uniq = sorted(set(langs))
    cmap = plt.get_cmap("tab10" if len(uniq) <= 10 else "tab20")
    return {lang: cmap(i % cmap.N) for i, lang in enumerate(uniq)}


def _segments(points: np.ndarray, groups: Sequence[Sequence[int]], max_lines: int) -> np.ndarray:
    """Line segments joining each group's first caption to the others (capped for legibility)."""
    segs = [(points[g[0]], points[j]) for g in groups for j in g[1:]]
    return np.asarray(segs[:max_lines]).reshape(-1, 2, 2)


def _draw_map(
    ax_mod: plt.Axes,
    ax_lang: plt.Axes,
    ax_tab: plt.Axes | None,
    video_emb: Any,
    text_emb: Any,
    caption_video: Sequence[int],
    langs: Sequence[str],
    groups: Sequence[Sequence[int]] | None,
    method: str,
    random_state: int,
    max_lines: int,
    title: str | None,
) -> dict[str, float]:
    v = np.asarray(video_emb, dtype=np.float64)
    t = np.asarray(text_emb, dtype=np.float64)
    langs = list(langs)
    if len(langs) != t.shape[0]:
        raise ValueError(f"{len(langs)} language labels for {t.shape[0]} caption embeddings")
    if v.shape[1] != t.shape[1]:
        raise ValueError(f"videos ({v.shape[1]}-d) and captions ({t.shape[1]}-d) must share one space")
    pts = project_2d(np.concatenate([v, t]), method=method, random_state=random_state)
    pv, pt = pts[: len(v)], pts[len(v):]
    name = "UMAP" if method == "umap" else "PCA"
    prefix = f"{title}: " if title else ""

    ax_mod.scatter(pv[:, 0], pv[:, 1], s=14, marker="s", c=VIDEO_COLOR, alpha=0.7, label=f"video ({len(v)})")
    ax_mod.scatter(pt[:, 0], pt[:, 1], s=10, marker="o", c=TEXT_COLOR, alpha=0.6, label=f"caption ({len(t)})")
    ax_mod.set_title(f"{prefix}by modality")

    colors = language_colors(langs)
    ax_lang.scatter(pv[:, 0], pv[:, 1], s=10, marker="s", c="#bbbbbb", alpha=0.6, label="video")
    if groups:
        segs = _segments(pt, groups, max_lines)
        ax_lang.add_collection(LineCollection(segs, colors="#777777", linewidths=0.4, alpha=0.5,
                                              label="translations"))
    for lang, col in colors.items():
        m = np.array([l == lang for l in langs])
        ax_lang.scatter(pt[m, 0], pt[m, 1], s=10, color=col, alpha=0.8, label=f"{lang} ({m.sum()})")
    ax_lang.set_title(f"{prefix}captions by language")
    for ax in (ax_mod, ax_lang):
        ax.set_xlabel(f"{name} 1")
        ax.set_ylabel(f"{name} 2")
        ax.legend(fontsize=7, loc="best", markerscale=1.5, framealpha=0.85)

    summary = geometry_summary(v, t, caption_video, langs)
    if ax_tab is not None:
        ax_tab.axis("off")
        rows = [[_ROW_LABELS.get(k, k), f"{val:.3f}"] for k, val in summary.items()]
        table = ax_tab.table(cellText=rows, colLabels=["measure", "value"], cellLoc="left",
                             colWidths=[0.7, 0.3], bbox=[0.0, 0.3, 1.0, 0.08 * (len(rows) + 1)])
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        ax_tab.text(0.0, 0.32 + 0.08 * (len(rows) + 1), "geometry (normalised embeddings)", fontsize=9)
    return summary


def embedding_map(
    video_emb: Any,
    text_emb: Any,
    caption_video: Sequence[int],
    langs: Sequence[str],
    *,
    translation_groups: Sequence[Sequence[int]] | None = None,
    method: str = "umap",
    random_state: int = 0,
    max_lines: int = 400,
    title: str | None = None,
    table: bool = True,
) -> Figure:
    """One map of a joint space: by modality, by language (translations linked), numbers.

    ``caption_video[i]`` is caption i's video row; ``langs[i]`` its language;
    ``translation_groups`` lists caption indices that translate one sentence (see
    :func:`mvkit.analysis.failures.translation_groups`). Returns the figure (axes:
    modality map, language map, and the geometry table when ``table``).
    """
    ncols = 3 if table else 2
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * 2 + (3.0 if table else 0), 4.2),
                             gridspec_kw={"width_ratios": [1, 1, 0.72][:ncols]}, squeeze=False)
    _draw_map(axes[0, 0], axes[0, 1], axes[0, 2] if table else None, video_emb, text_emb,
              caption_video, langs, translation_groups, method, random_state, max_lines, title)
    fig.tight_layout()
    return fig


def compare_embedding_maps(
    states: Mapping[str, Mapping[str, Any]],
    *,
    method: str = "umap",
    random_state: int = 0,
    max_lines: int = 400,
) -> tuple[Figure, pd.DataFrame]:
    """Maps of several models (e.g. before/after cross-lingual training), one row each.

    ``states`` maps a name to the keyword arguments of :func:`embedding_map`
    (``video_emb, text_emb, caption_video, langs`` and optional ``translation_groups``).
    Returns the figure and a table of the geometry numbers (rows: measures, columns: states).
    """
    if not states:
        raise ValueError("compare_embedding_maps needs at least one state")
    fig, axes = plt.subplots(len(states), 2, figsize=(8.4, 4.0 * len(states)), squeeze=False)
    numbers = {}
    for row, (name, kw) in enumerate(states.items()):
        numbers[name] = _draw_map(
            axes[row, 0], axes[row, 1], None, kw["video_emb"], kw["text_emb"], kw["caption_video"],
            kw["langs"], kw.get("translation_groups"), method, random_state, max_lines, name)
    fig.tight_layout()
    table = pd.DataFrame(numbers).rename(index=_ROW_LABELS)
    return fig, table
