"""Clip montages: what a dataset looks like, and how frames are sampled from one clip.

* :func:`montage` — one row per clip: key frames over time, then the clip's captions in
  several languages (a figure; a caption whose script the installed fonts cannot draw is
  named instead of drawn as empty boxes).
* :func:`montage_html` — the same rows as HTML with inline PNG frames, so captions in
  every script (Devanagari, Tamil, Han, ...) show in the browser's fonts.
* :func:`sampling_figure` — the frames :func:`mvkit.features.decode.decode_clip` samples
  (middle of N equal segments), on the clip's timeline with the segment boundaries.
"""
from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from mvkit.viz.gallery import FrameSource, _font_setup, _png_base64, displayable, key_frame_strip


def _captions_by_video(dataset: Any, video_ids: Sequence[str], langs: Sequence[str],
                       kinds: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{video_id: {lang: first caption text}}`` for the requested languages and kinds."""
    want, kinds_ = set(video_ids), set(kinds)
    out: dict[str, dict[str, str]] = {v: {} for v in video_ids}
    for c in dataset.captions:
        if c.video_id in want and c.lang in langs and c.kind in kinds_:
            out[c.video_id].setdefault(c.lang, c.text)
    return out


def pick_videos(dataset: Any, n: int = 4, langs: Sequence[str] = ("en",), split: str = "test",
                kinds: Sequence[str] = ("human",)) -> list[str]:
    """The first ``n`` videos of ``split`` with a caption in every language of ``langs``."""
    caps = _captions_by_video(dataset, [v.video_id for v in dataset.videos if v.split == split], langs, kinds)
    ids = [v for v, by_lang in caps.items() if all(l in by_lang for l in langs)]
    if len(ids) < n:
        raise ValueError(f"only {len(ids)} {split!r} videos have {list(kinds)} captions in all of {list(langs)}")
    return ids[:n]


def montage(dataset: Any, video_ids: Sequence[str], langs: Sequence[str] = ("en", "de", "ru", "vi"),
            *, kinds: Sequence[str] = ("human",), n_frames: int = 4, frames: Any = None,
            wrap: int = 70) -> Figure:
    """One row per clip: ``n_frames`` key frames over time, then its captions in ``langs``.

    ``frames`` is a frame source (video id -> ``uint8 [T, H, W, 3]``); by default the clips
    are decoded from ``dataset``. A caption the installed fonts cannot draw is replaced by a
    note (use :func:`montage_html` to see every script).
    """
    if not video_ids:
        raise ValueError("montage needs at least one video id")
    frames = frames or FrameSource(dataset, num_frames=n_frames)
    caps = _captions_by_video(dataset, video_ids, langs, kinds)
    fig, axes = plt.subplots(len(video_ids), 2, figsize=(11, 1.55 * len(video_ids)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.0, 1.5]}, layout="constrained")
    for (ax_img, ax_txt), vid in zip(axes, video_ids):
        ax_img.imshow(key_frame_strip(frames(vid), n_frames))
        ax_img.set_xticks([])
        ax_img.set_yticks([])
        ax_img.set_ylabel(vid, fontsize=8)
        lines = []
        for lang in langs:
            text = caps[vid].get(lang)
            if text is None:
                shown = "(no caption)"
            elif displayable(text):
                shown = text
            else:
                shown = "(needs a font for its script; montage_html shows it)"
            lines.append(textwrap.shorten(f"[{lang}] {shown}", wrap, placeholder=" ..."))
        ax_txt.axis("off")
        ax_txt.text(0.0, 0.5, "\n".join(lines), va="center", ha="left", fontsize=8,
                    fontfamily=list(_font_setup()[0]))   # installed script fonts as per-glyph fallback
    axes[0, 0].set_title(f"{n_frames} key frames, left to right in time", fontsize=9)
    axes[0, 1].set_title("captions (human-written), one per language", fontsize=9)
    return fig


def montage_html(dataset: Any, video_ids: Sequence[str], langs: Sequence[str],
                 *, kinds: Sequence[str] = ("human",), n_frames: int = 4, frames: Any = None) -> str:
    """The montage as an HTML table (inline PNG frames), readable in any script."""
    frames = frames or FrameSource(dataset, num_frames=n_frames)
    caps = _captions_by_video(dataset, video_ids, langs, kinds)
    rows = []
    for vid in video_ids:
        img = _png_base64(key_frame_strip(frames(vid), n_frames))
        text = "<br>".join(f"<b>{html.escape(l)}</b> {html.escape(caps[vid].get(l, '(no caption)'))}"
                           for l in langs)
        rows.append(f'<tr><td style="vertical-align:top"><img src="data:image/png;base64,{img}" '
                    f'style="height:80px;image-rendering:pixelated" alt="{html.escape(vid)}"><br>'
                    f'<small>{html.escape(vid)}</small></td>'
                    f'<td style="text-align:left;font-size:12px">{text}</td></tr>')
    return f'<table class="mvkit-montage">{"".join(rows)}</table>'


def sampling_figure(path: Any, num_frames: int = 8, fps: float | None = None) -> Figure:
    """The frames :func:`~mvkit.features.decode.decode_clip` samples from one clip, on its timeline.

    Top: the sampled frames with their times (s). Bottom: every frame of the clip as a
    tick, the N equal segments shaded in turn, and the sampled (middle) frame of each.
    """
    from mvkit.features.decode import decode_clip, sample_indices

    clip = decode_clip(path, num_frames=num_frames, audio=False)
    n = len(clip.frames)
    if fps is None:   # the clip's frame rate from the sampled times (exact for constant-rate clips)
        fps = _frame_rate(path)
    n_total = max(round(clip.duration * fps), n)
    idx = sample_indices(n_total, num_frames)
    fig = plt.figure(figsize=(1.25 * n + 0.5, 2.9), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.5, 1.0])
    axes = np.atleast_1d(top.subplots(1, n))
    for ax, img, t in zip(axes, clip.frames, clip.frame_times):
        ax.imshow(img)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"t = {t:.2f} s", fontsize=8)
    top.suptitle(f"{num_frames} sampled frames of a {clip.duration:.1f} s clip "
                 f"(middle frame of {num_frames} equal segments)", fontsize=9)
    ax = bottom.subplots()
    bounds = np.floor(np.linspace(0, n_total, num_frames + 1)).astype(int)
    for i in range(num_frames):
        ax.axvspan(bounds[i] - 0.5, bounds[i + 1] - 0.5, color="C0" if i % 2 else "C1", alpha=0.15, lw=0)
    ax.plot(np.arange(n_total), np.zeros(n_total), "|", color="0.5", ms=10, label=f"all {n_total} frames")
    ax.plot(idx, np.zeros(len(idx)), "v", color="C3", ms=8, label="sampled frame")
    ax.set_yticks([])
    ax.set_ylim(-1.0, 1.6)   # room above the ticks for the legend
    ax.set_xlim(-1, n_total)
    ax.set_xlabel(f"frame index (at {fps:g} frames per second)")
    ax.legend(loc="upper right", fontsize=7, ncols=2, frameon=False)
    return fig


def _frame_rate(path: Any) -> float:
    import av

    with av.open(str(path)) as c:
        rate = c.streams.video[0].average_rate
    return float(rate) if rate else 8.0
