"""Grounding timelines: frames along time, the ground-truth window, each model's top windows.

One row per query: a strip of frames placed at their times, the query above it, a green
bar for every ground-truth window and, for each model, its ``top_k`` windows as bars
(the best one darkest, its IoU with the ground truth written next to it). The figure
shows what the numbers summarise -- a floor that picks a window anywhere, a DETR whose top
windows pile onto one place, an RGTR whose windows spread over the video's events.
:func:`query_timeline` gathers the data of one query (decoding a few frames);
:func:`plot_timelines` draws any number of them from plain data, so it is testable
without video files.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from mvkit.grounding.spans import iou_cross

COLORS = ("#1f77b4", "#d62728", "#9467bd", "#ff7f0e", "#8c564b")


@dataclass
class Timeline:
    """What one timeline row shows (times in seconds)."""

    query: str
    duration: float
    gt: list[tuple[float, float]]
    proposals: dict[str, list[tuple[float, float]]]        # model -> ranked windows
    frames: np.ndarray | None = None                        # uint8 [F, H, W, 3]
    frame_times: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def query_timeline(dataset: Any, split: Any, ranked: Mapping[str, Any], i: int, n_frames: int = 10,
                   top_k: int = 3) -> Timeline:
    """Timeline of query ``i`` of a :class:`~mvkit.grounding.data.GroundingSplit`, frames decoded from its video."""
    from mvkit.features.decode import decode_clip

    q = split.queries[i]
    video = next(v for v in dataset.videos if v.video_id == q.video_id)
    times = (np.arange(n_frames) + 0.5) * video.duration / n_frames
    frames = decode_clip(dataset.video_path(video), audio=False, times=times).frames
    props = {name: [tuple(map(float, s)) for s, ok in zip(r.spans[i][:top_k], r.valid[i][:top_k]) if ok]
             for name, r in ranked.items()}
    return Timeline(q.text, float(video.duration), [tuple(map(float, g)) for g in split.gt[i]], props, frames, times,
                    {"caption_id": q.caption_id, "lang": q.lang})


def plot_timelines(rows: Sequence[Timeline], title: str | None = None, width: float = 11.0) -> Figure:
    """Draw timelines one under another; returns the figure (static, no widgets)."""
    models = list(dict.fromkeys(m for r in rows for m in r.proposals))
    n_bars = 1 + len(models)
    fig, axes = plt.subplots(len(rows), 1, figsize=(width, (1.1 + 0.32 * n_bars) * len(rows) + 0.4), squeeze=False)
    for ax, row in zip(axes[:, 0], rows):
        d = row.duration
        ax.set_xlim(0, d)
        strip_h = 1.4
        if row.frames is not None and len(row.frames):
            w = d / len(row.frames)
            for f, t in zip(row.frames, row.frame_times):
                ax.imshow(f, extent=(t - w / 2 + 0.03 * w, t + w / 2 - 0.03 * w, n_bars, n_bars + strip_h),
                          aspect="auto", interpolation="nearest")
        for s, e in row.gt:
            ax.axvspan(s, e, color="#2ca02c", alpha=0.12, lw=0)
            ax.barh(n_bars - 0.5, e - s, left=s, height=0.7, color="#2ca02c")
        labels = ["ground truth"]
        gt = np.asarray(row.gt, dtype=float).reshape(-1, 2)
        for k, m in enumerate(models):
            y = n_bars - 1.5 - k
            wins = row.proposals.get(m, [])
            for rank, (s, e) in enumerate(wins):
                ax.barh(y, e - s, left=s, height=0.7 * (1 - 0.2 * rank), color=COLORS[k % len(COLORS)],
                        alpha=1.0 - 0.3 * rank, edgecolor="white", lw=0.5)
            if wins:
                iou = float(iou_cross(np.asarray(wins[:1], dtype=float), gt).max())
                ax.text(min(wins[0][1], d) + 0.1, y, f"IoU {iou:.2f}", va="center", fontsize=7)
            labels.append(m)
        ax.set_ylim(0, n_bars + strip_h)
        ax.set_yticks([n_bars - 0.5 - k for k in range(len(labels))], labels, fontsize=8)
        ax.set_title(row.query, fontsize=9, loc="left")
        ax.set_xlabel("time (s)", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
