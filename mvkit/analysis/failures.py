"""Retrieval failures as data: top-k lists, per-query views, failure tables and groupings.

The failure gallery (notebook 04) and its widget only *show* what these pure functions
compute, so every number in the gallery is tested here: the top-k order (ties broken by
the lower gallery index, so a view never flickers between runs), the rank of the true
video under the pessimistic tie rule (a tie with a wrong clip counts against the query,
as in :mod:`mvkit.metrics`), and the attribute the model confused, read from the
embedded world's ground truth.

Conventions: ``sim`` is a text-to-video similarity matrix ``[Q, G]`` whose rows follow
``captions`` and whose columns follow ``videos``; ``caption_video`` is either an int
array ``[Q]`` (the gallery index of each caption's video) or a bool matrix ``[Q, G]`` of
positives (several relevant videos per query, e.g. semantic positives).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Label added to the confused attributes of a failed machine- or back-translated query.
LANGUAGE_NOISE = "language_noise"
#: Label of a failure whose caption names nothing that tells the two clips apart.
INDISTINGUISHABLE = "indistinguishable"


# ---- inputs -------------------------------------------------------------------------
def as_similarity(sim: Any) -> np.ndarray:
    """``sim`` as a float64 NumPy ``[Q, G]`` matrix (a vector is one row; torch tensors welcome).

    NaNs are an error naming the rows, since they would make every rank meaningless.
    """
    if hasattr(sim, "detach"):
        sim = sim.detach().cpu()
        sim = (sim.float() if sim.dtype.itemsize < 4 else sim).numpy()   # NumPy has no bfloat16
    arr = np.asarray(sim)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)   # float32 stays float32: large matrices are not doubled
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"similarity must be a vector or a [Q, G] matrix, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"similarity matrix {arr.shape} contains NaN at rows "
                         f"{np.unique(np.nonzero(np.isnan(arr))[0])[:10].tolist()}")
    return arr


def _ids(items: Sequence[Any] | None) -> list[str] | None:
    """Video ids from ``VideoRecord``s or plain strings (``None`` passes through)."""
    if items is None:
        return None
    return [getattr(v, "video_id", v) for v in items]


def positives_matrix(
    caption_video: Any = None,
    n_videos: int | None = None,
    *,
    captions: Sequence[Any] | None = None,
    videos: Sequence[Any] | None = None,
) -> np.ndarray:
    """The bool ``[Q, G]`` positives of each query.

    Give either ``caption_video`` (int indices ``[Q]`` with ``n_videos``, or a bool matrix
    returned as is) or ``captions`` and ``videos`` (a caption's positive is its own video).
    """
    if caption_video is None:
        if captions is None or videos is None:
            raise ValueError("give caption_video, or both captions and videos")
        index = {vid: i for i, vid in enumerate(_ids(videos))}
        missing = [c.caption_id for c in captions if c.video_id not in index]
        if missing:
            raise ValueError(f"captions of videos not in the gallery: {missing[:10]}")
        caption_video = np.array([index[c.video_id] for c in captions], dtype=np.int64)
        n_videos = len(index)
    if hasattr(caption_video, "detach"):
        caption_video = caption_video.detach().cpu().numpy()
    cv = np.asarray(caption_video)
    if cv.dtype == bool:
        if cv.ndim != 2:
            raise ValueError(f"a positives mask must be [Q, G], got shape {cv.shape}")
        return cv
    if cv.ndim != 1:
        raise ValueError(f"caption_video must be int indices [Q] or a bool mask [Q, G], got {cv.shape}")
    if n_videos is None:
        raise ValueError("n_videos is needed with integer caption_video")
    if cv.size and (cv.min() < 0 or cv.max() >= n_videos):
        raise ValueError(f"caption_video indices must lie in [0, {n_videos}), got "
                         f"[{cv.min()}, {cv.max()}]")
    pos = np.zeros((cv.shape[0], n_videos), dtype=bool)
    pos[np.arange(cv.shape[0]), cv] = True
    return pos


def _row_positives(caption_video: Any, q: int, n_videos: int, captions: Any, videos: Any) -> np.ndarray:
    """Row ``q`` of :func:`positives_matrix` (``[1, G]``) without building the whole matrix."""
    if caption_video is None:
        if captions is None or videos is None:
            raise ValueError("give caption_video, or both captions and videos")
        return positives_matrix(captions=[captions[q]], videos=videos)
    if hasattr(caption_video, "detach"):
        caption_video = caption_video.detach().cpu().numpy()
    cv = np.asarray(caption_video)
    return positives_matrix(cv[q:q + 1], n_videos)


def _resolve_positives(sim: np.ndarray, caption_video: Any, captions: Any, videos: Any) -> np.ndarray:
    pos = positives_matrix(caption_video, sim.shape[1], captions=captions, videos=videos)
    if pos.shape != sim.shape:
        raise ValueError(f"positives {pos.shape} do not match the similarity matrix {sim.shape}")
    empty = np.nonzero(~pos.any(axis=1))[0]
    if empty.size:
        raise ValueError(f"queries without any positive video: {empty[:10].tolist()}")
    return pos


# ---- ranking ------------------------------------------------------------------------
def top_k(sim: Any, k: int) -> np.ndarray:
    """Gallery indices of the ``k`` best scores, best first; ties go to the lower index.

    A vector gives ``[k]``, a matrix ``[Q, k]``; ``k`` is clipped to the gallery size.
    The stable sort makes the order a function of the scores alone.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    one_row = np.ndim(sim) == 1
    arr = as_similarity(sim)
    k = min(k, arr.shape[1])
    # a stable sort of the negated scores keeps equal scores in index order
    order = np.argsort(-arr, axis=1, kind="stable")[:, :k]
    return order[0] if one_row else order


def true_ranks(sim: Any, caption_video: Any = None, *, captions: Any = None, videos: Any = None) -> np.ndarray:
    """1-based rank of the (best) true video of every query, pessimistic tie rule.

    Computed by :func:`mvkit.metrics.ranks`, so the gallery and the metrics tables can
    never disagree.
    """
    from mvkit.metrics.ranks import ranks as metric_ranks

    arr = as_similarity(sim)
    pos = _resolve_positives(arr, caption_video, captions, videos)
    out = metric_ranks(arr, pos, ties="pessimistic")
    return np.asarray(out.detach().cpu().numpy() if hasattr(out, "detach") else out, dtype=np.int64).reshape(-1)


# ---- one query ----------------------------------------------------------------------
@dataclass(frozen=True)
class QueryView:
    """What the gallery shows for one query: its top-k clips and where the truth ranks."""

    query: int
    indices: np.ndarray            # top-k gallery indices, best first
    scores: np.ndarray             # their similarities
    is_positive: np.ndarray        # bool [k]: is this clip a true video of the query?
    true_indices: np.ndarray       # gallery indices of all true videos
    true_rank: int                 # 1-based, pessimistic
    true_score: float              # score of the best true video
    video_ids: tuple[str, ...] | None = None       # ids of ``indices``
    true_video_ids: tuple[str, ...] | None = None  # ids of ``true_indices``
    caption_id: str | None = None
    lang: str | None = None
    kind: str | None = None
    text: str | None = None

    @property
    def k(self) -> int:
        return len(self.indices)

    @property
    def hit(self) -> bool:
        """True when a true video is within the shown top-k."""
        return self.true_rank <= self.k


def query_view(
    sim: Any,
    q: int,
    k: int = 5,
    caption_video: Any = None,
    *,
    captions: Sequence[Any] | None = None,
    videos: Sequence[Any] | None = None,
) -> QueryView:
    """The top-k videos of query ``q`` with scores and the rank of its true video.

    ``captions`` (rows) and ``videos`` (columns, records or ids) are optional: they add
    ids and the caption's text/language to the view, and replace ``caption_video``.
    Only row ``q`` is read, so a view costs O(G) however many queries ``sim`` holds
    (the interactive gallery calls this on every click).
    """
    n_queries = np.shape(sim)[0] if np.ndim(sim) == 2 else 1
    if not 0 <= q < n_queries:
        raise IndexError(f"query {q} out of range for {n_queries} queries")
    row = as_similarity(sim[q] if np.ndim(sim) == 2 else sim)
    row_pos = _resolve_positives(row, _row_positives(caption_video, q, row.shape[1], captions, videos),
                                 None, None)
    rank = int(true_ranks(row, row_pos)[0])
    idx = top_k(row[0], k)
    true_idx = np.nonzero(row_pos[0])[0]
    ids = _ids(videos)
    cap = captions[q] if captions is not None else None
    return QueryView(
        query=q,
        indices=idx,
        scores=row[0, idx],
        is_positive=row_pos[0, idx],
        true_indices=true_idx,
        true_rank=rank,
        true_score=float(row[0, true_idx].max()),
        video_ids=None if ids is None else tuple(ids[i] for i in idx),
        true_video_ids=None if ids is None else tuple(ids[i] for i in true_idx),
        caption_id=getattr(cap, "caption_id", None),
        lang=getattr(cap, "lang", None),
        kind=getattr(cap, "kind", None),
        text=getattr(cap, "text", None),
    )


# ---- failures -----------------------------------------------------------------------
def _default_confused() -> Callable[[Any, Any], list[str]]:
    from mvkit.data.attributes import confused_attributes

    return confused_attributes


def failure_table(
    sim: Any,
    captions: Sequence[Any],
    videos: Sequence[Any],
    k: int = 1,
    *,
    positives: Any = None,
    confused_fn: Callable[[Any, Any], list[str]] | None = None,
    mark_translations: bool = False,
) -> pd.DataFrame:
    """One row per failed query (no true video within the top ``k``), with what went wrong.

    Columns: ``query, caption_id, lang, kind, translated, text, video_id, rank,
    true_score, wrong_video_id, wrong_score, confused``. The wrong video is the
    best-scored clip that is not a positive (ties to the lower index); ``confused`` lists
    the attributes in which the caption disagrees with it (``confused_fn(caption,
    video)``, by default :func:`mvkit.data.attributes.confused_attributes`, which itself
    adds ``"language_noise"`` when translation noise destroyed a confused attribute).

    A machine- or back-translated caption is also labelled ``"language_noise"`` when
    nothing it still says tells the clips apart (the noise ate the difference), or always
    with ``mark_translations=True`` (for data without noise records). A human caption
    naming nothing that tells the clips apart gets ``["indistinguishable"]``; pass
    ``positives`` (e.g. the world's semantic positives) to count such look-alike clips as
    correct instead.
    """
    arr = as_similarity(sim)
    if len(captions) != arr.shape[0] or len(videos) != arr.shape[1]:
        raise ValueError(f"similarity {arr.shape} does not match {len(captions)} captions x "
                         f"{len(videos)} videos")
    pos = _resolve_positives(arr, positives, captions if positives is None else None,
                             videos if positives is None else None)
    ranks = true_ranks(arr, pos)
    failed = np.nonzero(ranks > k)[0]
    wrong = np.where(pos, -np.inf, arr).argmax(axis=1)   # argmax keeps the lower index on ties
    columns = ["query", "caption_id", "lang", "kind", "translated", "text", "video_id", "rank", "true_score",
               "wrong_video_id", "wrong_score", "confused"]
    if failed.size == 0:
        return pd.DataFrame(columns=columns)
    confused_fn = confused_fn or _default_confused()
    rows = []
    for q in failed:
        cap, bad = captions[q], videos[wrong[q]]
        confused = list(dict.fromkeys(confused_fn(cap, bad)))
        translated = getattr(cap, "kind", "human") != "human"
        if translated and LANGUAGE_NOISE not in confused and (mark_translations or not confused):
            confused.append(LANGUAGE_NOISE)
        rows.append({
            "query": int(q),
            "caption_id": getattr(cap, "caption_id", None),
            "lang": getattr(cap, "lang", None),
            "kind": getattr(cap, "kind", None),
            "translated": translated,
            "text": getattr(cap, "text", None),
            "video_id": getattr(cap, "video_id", None),
            "rank": int(ranks[q]),
            "true_score": float(arr[q][pos[q]].max()),
            "wrong_video_id": getattr(bad, "video_id", bad),
            "wrong_score": float(arr[q, wrong[q]]),
            "confused": confused or [INDISTINGUISHABLE],
        })
    return pd.DataFrame(rows, columns=columns)


def group_failures(df: pd.DataFrame, by: str = "lang") -> pd.DataFrame:
    """Failure counts per confused attribute (rows) and ``by`` value (columns) plus ``total``.

    A failure that confused two attributes counts once under each, so a column can sum
    to more than its number of failures. Rows are sorted by total, most frequent first.
    """
    if "confused" not in df.columns or by not in df.columns:
        raise ValueError(f"expected a failure_table with 'confused' and {by!r} columns, got {list(df.columns)}")
    if df.empty:
        return pd.DataFrame(columns=["total"]).rename_axis("attribute")
    long = df[[by, "confused"]].explode("confused").rename(columns={"confused": "attribute"})
    table = pd.crosstab(long["attribute"], long[by])
    table.columns = [str(c) for c in table.columns]
    table["total"] = table.sum(axis=1)
    table = table.reset_index().sort_values(["total", "attribute"], ascending=[False, True])
    return table.set_index("attribute").rename_axis(columns=None)


# ---- the same query in other languages ----------------------------------------------
def _translation_roots(captions: Sequence[Any]) -> list[str]:
    """The original caption each caption was translated from (itself for originals)."""
    source = {c.caption_id: c.source_id for c in captions}
    roots = []
    for c in captions:
        node, seen = c.caption_id, {c.caption_id}
        # follow source_id links (a back-translation's source may itself be a translation)
        while source.get(node) is not None and source[node] not in seen:
            node = source[node]
            seen.add(node)
        roots.append(node)
    return roots


def translation_groups(captions: Sequence[Any]) -> list[list[int]]:
    """Caption indices that are translations of one sentence (groups of two or more)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, root in enumerate(_translation_roots(captions)):
        groups[root].append(i)
    return [g for g in groups.values() if len(g) > 1]


def cross_language_pairs(captions: Sequence[Any], langs: Sequence[str] | None = None) -> pd.DataFrame:
    """For each caption and each other language, its counterpart query in that language.

    The counterpart is a translation of the same sentence when one exists (linked by
    ``source_id``; ``link="translation"``), else another caption of the same video in
    that language (``link="same_video"``); the lowest caption index wins among several.
    Columns: ``query, other, lang, other_lang, link``.
    """
    roots = _translation_roots(captions)
    by_root: dict[tuple[str, str], int] = {}
    by_video: dict[tuple[str, str], int] = {}
    for i, (c, r) in enumerate(zip(captions, roots)):
        by_root.setdefault((r, c.lang), i)
        by_video.setdefault((c.video_id, c.lang), i)
    langs = list(langs) if langs is not None else sorted({c.lang for c in captions})
    rows = []
    for i, (c, r) in enumerate(zip(captions, roots)):
        for lang in langs:
            if lang == c.lang:
                continue
            j, link = by_root.get((r, lang)), "translation"
            if j is None:
                j, link = by_video.get((c.video_id, lang)), "same_video"
            if j is not None:
                rows.append({"query": i, "other": j, "lang": c.lang, "other_lang": lang, "link": link})
    return pd.DataFrame(rows, columns=["query", "other", "lang", "other_lang", "link"])


def counterpart(captions: Sequence[Any], q: int, lang: str) -> int | None:
    """Index of query ``q``'s counterpart in ``lang`` (see :func:`cross_language_pairs`), or None."""
    if captions[q].lang == lang:
        return q
    roots = _translation_roots(captions)
    same_sentence = [i for i, c in enumerate(captions) if c.lang == lang and roots[i] == roots[q]]
    if same_sentence:
        return same_sentence[0]
    same_video = [i for i, c in enumerate(captions) if c.lang == lang and c.video_id == captions[q].video_id]
    return same_video[0] if same_video else None


# ---- two models ---------------------------------------------------------------------
def compare_models(
    sim_a: Any,
    sim_b: Any,
    caption_video: Any = None,
    *,
    captions: Sequence[Any] | None = None,
    videos: Sequence[Any] | None = None,
    k: int = 1,
    names: tuple[str, str] = ("A", "B"),
) -> pd.DataFrame:
    """Per query: both models' ranks and who wins at top-``k``.

    ``winner`` is ``names[0]`` when only model A has a true video in its top ``k``,
    ``names[1]`` when only B does, else ``"both"`` or ``"neither"``. Filter on it to list
    the queries where one model wins. Columns: ``query, [caption_id, lang,] rank_a,
    rank_b, winner``.
    """
    a, b = as_similarity(sim_a), as_similarity(sim_b)
    if a.shape != b.shape:
        raise ValueError(f"the two similarity matrices differ in shape: {a.shape} vs {b.shape}")
    if names[0] == names[1] or {"both", "neither"} & set(names):
        raise ValueError(f"model names must differ and not be 'both'/'neither', got {names}")
    pos = _resolve_positives(a, caption_video, captions, videos)
    ra, rb = true_ranks(a, pos), true_ranks(b, pos)
    ha, hb = ra <= k, rb <= k
    winner = np.select([ha & ~hb, hb & ~ha, ha & hb], [names[0], names[1], "both"], "neither")
    df = pd.DataFrame({"query": np.arange(a.shape[0]), "rank_a": ra, "rank_b": rb, "winner": winner})
    if captions is not None:
        df.insert(1, "caption_id", [c.caption_id for c in captions])
        df.insert(2, "lang", [c.lang for c in captions])
    return df


def win_counts(df: pd.DataFrame, by: str = "lang") -> pd.DataFrame:
    """How often each model wins, per ``by`` value (rows) — a summary of :func:`compare_models`."""
    counts = Counter(zip(df[by], df["winner"]))
    out = pd.Series(counts).unstack(fill_value=0)
    return out.rename_axis(index=by, columns="winner")
