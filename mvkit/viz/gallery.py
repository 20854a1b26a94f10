"""Static retrieval galleries: what a model returned for a query, as a picture.

Every view of notebook 04 renders here as a plain matplotlib figure (so it survives
nbval and exported HTML) or as an HTML snippet with inline PNG thumbnails (so captions
in any script show in the browser's fonts). The numbers come from
:mod:`mvkit.analysis.failures`; this module only draws them:

* :func:`render_query` — a query's top-k clips (key frames, score, green frame = true
  video) and the true video's rank, with an extra tile for the true video when it is
  not in the top-k;
* :func:`render_rows` — several such rows stacked: the same video's query in another
  language, or two models on the same query;
* :func:`failure_bar_chart` — failures by confused attribute and language.
"""
from __future__ import annotations

import base64
import html
import io
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mvkit.analysis.failures import QueryView

TRUE_COLOR = "#2ca02c"
WRONG_COLOR = "#d62728"
FrameGetter = Callable[[str], np.ndarray]

# Fonts that cover the scripts of mvkit's languages, used when installed (per-glyph fallback).
_SCRIPT_FONTS = ("Noto Sans", "Noto Sans Devanagari", "Noto Sans Tamil", "Noto Sans Telugu",
                 "Noto Sans Kannada", "Noto Sans Malayalam", "Noto Sans CJK SC", "Noto Sans CJK JP",
                 "Noto Sans SC", "Noto Sans JP", "Lohit Devanagari", "Lohit Tamil", "WenQuanYi Zen Hei")


# ---- frames -------------------------------------------------------------------------
class FrameSource:
    """Key frames per video id, decoded once from the videos (or handed in) and cached.

    Give ``frames`` (video id -> ``uint8 [T, H, W, 3]``) for arrays you already hold, or
    ``dataset`` (a :class:`~mvkit.data.records.RetrievalDataset`) / ``paths`` (video id
    -> file) to decode with :func:`mvkit.features.decode.decode_clip`. An unreadable or
    missing clip yields a grey placeholder; the reason is kept in :attr:`errors` so one
    corrupt file never breaks a gallery.
    """

    def __init__(
        self,
        dataset: Any = None,
        *,
        frames: Mapping[str, np.ndarray] | None = None,
        paths: Mapping[str, Any] | None = None,
        num_frames: int = 3,
        size: int = 64,
    ) -> None:
        self.num_frames = num_frames
        self.size = size
        self._cache: dict[str, np.ndarray] = {}
        self._paths: dict[str, Any] = dict(paths or {})
        if dataset is not None:
            self._paths.update({v.video_id: dataset.video_path(v) for v in dataset.videos})
        for vid, arr in (frames or {}).items():
            self._cache[vid] = _check_frames(arr, vid)
        self.errors: dict[str, str] = {}

    def placeholder(self) -> np.ndarray:
        return np.full((1, self.size, self.size, 3), 200, dtype=np.uint8)

    def __call__(self, video_id: str) -> np.ndarray:
        if video_id in self._cache:
            return self._cache[video_id]
        path = self._paths.get(video_id)
        if path is None:
            self.errors[video_id] = "no video file known for this id"
            return self.placeholder()
        from mvkit.features.decode import CorruptVideoError, decode_clip  # PyAV only when decoding

        try:
            arr = decode_clip(path, num_frames=self.num_frames, audio=False).frames
        except (CorruptVideoError, OSError) as e:  # show a placeholder, do not crash the gallery
            self.errors[video_id] = f"{path}: {e}"
            return self.placeholder()
        self._cache[video_id] = _check_frames(arr, video_id)
        return self._cache[video_id]


def _check_frames(arr: Any, video_id: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[0] == 0:
        raise ValueError(f"frames of {video_id}: expected uint8 [T, H, W, 3], got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return arr


def key_frame_strip(frames: np.ndarray, n: int = 3, gap: int = 2) -> np.ndarray:
    """``n`` evenly spaced frames side by side (white gaps): one image per clip."""
    frames = _check_frames(frames, "clip")
    idx = np.unique(np.linspace(0, len(frames) - 1, num=min(n, len(frames))).round().astype(int))
    h = frames.shape[1]
    sep = np.full((h, gap, 3), 255, dtype=np.uint8)
    parts: list[np.ndarray] = []
    for i in idx:
        parts += [frames[i], sep]
    return np.concatenate(parts[:-1], axis=1)


# ---- text in any script ---------------------------------------------------------------
@lru_cache(maxsize=1)
def _font_setup() -> tuple[tuple[str, ...], frozenset[int]]:
    """Installed font families for the figure text, and the code points they cover."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    installed = {f.name for f in font_manager.fontManager.ttflist}
    families = ["DejaVu Sans"] + [f for f in _SCRIPT_FONTS if f in installed]
    covered: set[int] = set()
    for fam in families:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=fam), fallback_to_default=False)
            covered.update(FT2Font(path).get_charmap())
        except (ValueError, OSError, RuntimeError):
            continue
    return tuple(families), frozenset(covered)


def displayable(text: str) -> bool:
    """True when the installed fonts can draw every character of ``text``."""
    covered = _font_setup()[1]
    return all(ord(ch) in covered or ch.isspace() for ch in text)


def script_font_families() -> list[str]:
    """Font families for text in any of mvkit's scripts: DejaVu Sans plus installed script fonts."""
    return list(_font_setup()[0])


@contextmanager
def script_fonts() -> Iterator[None]:
    """Create text inside with :func:`script_font_families` as per-glyph fallback.

    Only ``font.family`` is set and restored: a ``plt.rc_context`` around the first
    figure of a Jupyter session would also undo the interactive mode the inline backend
    switches on, and every later figure would silently stop showing.
    """
    old = plt.rcParams["font.family"]
    plt.rcParams["font.family"] = script_font_families()
    try:
        yield
    finally:
        plt.rcParams["font.family"] = old


_script_fonts = script_fonts   # the name mvkit.viz.montage imports


def query_title(view: QueryView, width: int = 70, prefix: str = "", html_safe: bool = False) -> str:
    """The caption (wrapped), its language and kind, and where the true video ranks.

    For figures a caption the installed fonts cannot draw is replaced by a note;
    ``html_safe`` keeps it (browsers have the fonts).
    """
    text = view.text if view.text is not None else f"query {view.query}"
    tag = view.lang or "?"
    if view.kind and view.kind != "human":
        tag += ", " + ("MT" if view.kind == "machine-translated" else "back-translated")
    shown = f"\u201c{text}\u201d"
    if not html_safe and not displayable(text):
        # drawing glyphs no installed font has gives empty boxes and a warning per glyph
        shown = f"{view.caption_id or 'caption'}: needs a font for its script (the HTML view shows it)"
    truth = ", ".join(view.true_video_ids) if view.true_video_ids else "true video"
    line = f"{prefix}[{tag}] {shown}"
    return "\n".join(textwrap.wrap(line, width)) + f"\n{truth} at rank {view.true_rank}"


# ---- figures ------------------------------------------------------------------------
def _tiles(view: QueryView) -> list[tuple[str, float, bool, str]]:
    """(video id, score, is true video, label) per tile; the true video is appended if missed."""
    ids = view.video_ids or tuple(f"#{i}" for i in view.indices)
    tiles = [(vid, float(s), bool(p), f"{r + 1}. {vid}\n{s:.3f}")
             for r, (vid, s, p) in enumerate(zip(ids, view.scores, view.is_positive))]
    if not view.hit:
        vid = view.true_video_ids[0] if view.true_video_ids else f"#{view.true_indices[0]}"
        tiles.append((vid, view.true_score, True, f"true: {vid}\nrank {view.true_rank}, {view.true_score:.3f}"))
    return tiles


def _draw_row(fig: Any, view: QueryView, frames: FrameGetter, n_frames: int, prefix: str,
              ncols: int, width: int) -> None:
    tiles = _tiles(view)
    axes = np.atleast_1d(fig.subplots(1, ncols))
    for ax in axes[len(tiles):]:      # rows share one grid so tiles line up between rows
        ax.remove()
    for ax, (vid, _, is_true, label) in zip(axes, tiles):
        ax.imshow(key_frame_strip(frames(vid), n_frames))
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor(TRUE_COLOR if is_true else WRONG_COLOR)
            spine.set_linewidth(3)
        ax.set_xlabel(label, fontsize=8)
    # every installed script font as a per-glyph fallback (a font list on the text itself:
    # an rc_context around figure creation would reset pyplot's interactive mode in Jupyter)
    fig.suptitle(query_title(view, width=width, prefix=prefix), fontsize=9, x=0.01, ha="left",
                 fontfamily=script_font_families())


def render_rows(
    views: Sequence[QueryView] | Mapping[str, QueryView],
    frames: FrameGetter,
    *,
    n_frames: int = 3,
    tile_width: float = 2.2,
) -> Figure:
    """Stack query rows in one figure: e.g. one language per row, or one model per row.

    With a mapping the key prefixes each row's title (a model or language name). The
    figure has one axes per tile; a tile's frame is green for a true video, red otherwise.
    """
    items = list(views.items()) if isinstance(views, Mapping) else [("", v) for v in views]
    if not items:
        raise ValueError("render_rows needs at least one query view")
    ncols = max(len(_tiles(v)) for _, v in items)
    row_height = 1.4 + tile_width / max(n_frames, 1)   # title + one strip + its label
    fig = plt.figure(figsize=(tile_width * ncols, row_height * len(items)), layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(len(items), 1))
    for sub, (name, view) in zip(subfigs, items):
        _draw_row(sub, view, frames, n_frames, f"{name}: " if name else "", ncols,
                  width=int(12 * tile_width * ncols))   # about 12 characters per inch at 9 pt
    return fig


def render_query(view: QueryView, frames: FrameGetter, *, n_frames: int = 3) -> Figure:
    """One query's top-k clips with scores and the rank of its true video."""
    return render_rows([view], frames, n_frames=n_frames)


def render_cross_language(views: Sequence[QueryView], frames: FrameGetter, *, n_frames: int = 3) -> Figure:
    """The same video's query in several languages, one row each (titles name the language)."""
    return render_rows(list(views), frames, n_frames=n_frames)


def render_models(views: Mapping[str, QueryView], frames: FrameGetter, *, n_frames: int = 3) -> Figure:
    """One query under several models, one row per model (keys are the model names)."""
    return render_rows(views, frames, n_frames=n_frames)


def failure_bar_chart(groups: pd.DataFrame, *, title: str = "Failures by confused attribute") -> Figure:
    """Stacked horizontal bars: failed queries per confused attribute, split by language.

    ``groups`` is :func:`mvkit.analysis.failures.group_failures` output (attribute rows,
    one column per language plus ``total``).
    """
    from mvkit.viz.embedding_map import language_colors

    langs = [c for c in groups.columns if c != "total"]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * max(len(groups), 2) + 1.2), layout="constrained")
    order = groups.iloc[::-1]          # most frequent attribute on top
    left = np.zeros(len(order))
    colors = language_colors(langs)
    for lang in langs:
        vals = order[lang].to_numpy(dtype=float)
        ax.barh(order.index.astype(str), vals, left=left, color=colors[lang], label=lang)
        left += vals
    ax.set_xlabel("failed queries (a query counts once per confused attribute)")
    ax.set_ylabel("confused attribute")
    ax.set_title(title)
    if langs:
        ax.legend(title="language", fontsize=8, frameon=False)
    return fig


# ---- HTML ---------------------------------------------------------------------------
def png_base64(img: np.ndarray) -> str:
    """An RGB image as base64-encoded PNG, for ``<img src="data:image/png;base64,...">``."""
    buf = io.BytesIO()
    plt.imsave(buf, img, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


_png_base64 = png_base64   # the name mvkit.viz.montage imports


class Thumbnails:
    """Key-frame strips as base64 PNG, encoded the first time a clip is shown and kept.

    The HTML views call this once per tile; a gallery that redraws on every click then
    encodes each clip once (decoding stays with the ``frames`` getter, e.g. a cached
    :class:`FrameSource`). At most ``max_items`` strips are kept (oldest dropped first), so
    browsing a 10,000-clip gallery does not grow memory without bound.
    """

    def __init__(self, frames: FrameGetter, n_frames: int = 3, max_items: int = 4096) -> None:
        self.frames, self.n_frames, self.max_items = frames, n_frames, max_items
        self._cache: dict[str, str] = {}

    def __call__(self, video_id: str) -> str:
        hit = self._cache.pop(video_id, None)
        if hit is None:
            hit = png_base64(key_frame_strip(self.frames(video_id), self.n_frames))
            if len(self._cache) >= self.max_items:
                self._cache.pop(next(iter(self._cache)))
        self._cache[video_id] = hit          # re-insert: most recently shown last
        return hit

    def __len__(self) -> int:
        return len(self._cache)


def query_html(view: QueryView, frames: FrameGetter, *, n_frames: int = 3, name: str = "",
               thumbnails: Callable[[str], str] | None = None) -> str:
    """One query row as HTML with inline base64 PNG thumbnails (any script, any browser).

    ``thumbnails`` (video id -> base64 PNG, e.g. a :class:`Thumbnails`) replaces encoding
    each tile from ``frames``. The row carries ``data-caption-id`` / ``data-lang`` and each
    tile ``data-video-id``, so a page script or a browser test can read what is shown.
    """
    thumb = thumbnails if thumbnails is not None else (
        lambda vid: png_base64(key_frame_strip(frames(vid), n_frames)))
    head = html.escape(query_title(view, width=10_000, prefix=f"{name}: " if name else "", html_safe=True)).replace("\n", "<br>")
    cells = []
    for vid, _, is_true, label in _tiles(view):
        color = TRUE_COLOR if is_true else WRONG_COLOR
        cells.append(
            f'<figure data-video-id="{html.escape(vid)}" style="margin:4px;text-align:center">'
            f'<img src="data:image/png;base64,{thumb(vid)}" '
            f'style="border:3px solid {color};height:72px;image-rendering:pixelated" alt="{html.escape(vid)}">'
            f'<figcaption style="font-size:11px">{html.escape(label).replace(chr(10), "<br>")}</figcaption></figure>')
    attrs = "".join(f' data-{key}="{html.escape(str(val))}"' for key, val in
                    (("caption-id", view.caption_id), ("lang", view.lang), ("row", name)) if val)
    return (f'<div class="mvkit-query"{attrs}><div class="mvkit-query-title" style="font-size:13px">{head}</div>'
            f'<div style="display:flex;flex-wrap:wrap">{"".join(cells)}</div></div>')


def rows_html(views: Mapping[str, QueryView] | Sequence[QueryView], frames: FrameGetter, *, n_frames: int = 3,
              thumbnails: Callable[[str], str] | None = None) -> str:
    """Several query rows as one HTML block (see :func:`render_rows`)."""
    items = list(views.items()) if isinstance(views, Mapping) else [("", v) for v in views]
    return "".join(query_html(v, frames, n_frames=n_frames, name=k, thumbnails=thumbnails) for k, v in items)
