"""The quick-start's pictures: one instructive failure and one embedding map of a split."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mvkit.analysis.embeddings import SplitEmbeddings
from mvkit.data.records import RetrievalDataset

#: Languages drawn in the quick-start embedding map (several scripts, high and low resource).
MAP_LANGS = ("en", "de", "zh", "hi", "sw")


def pick_failure(emb: SplitEmbeddings, dataset: RetrievalDataset, lang: str = "en", k: int = 5) -> Any:
    """One instructive failure in ``lang``: the near miss (true video ranked 2nd, or the best
    rank above 1) with the lowest query index; returns ``(QueryView, failure row)``.

    The row (from :func:`mvkit.analysis.failures.failure_table`) names the attributes the
    caption disagrees with the wrongly retrieved clip on. ``(None, None)`` if nothing fails.
    """
    from mvkit.analysis.failures import failure_table, query_view

    videos = {v.video_id: v for v in dataset.videos}
    rows = [i for i, c in enumerate(emb.captions) if c.lang == lang]
    if not rows:
        raise ValueError(f"no {lang!r} captions in this split; have {sorted(set(emb.langs))}")
    caps = [emb.captions[i] for i in rows]
    table = failure_table(emb.sim[rows], caps, [videos[v] for v in emb.video_ids], k=1)
    if table.empty:
        return None, None
    row = table.sort_values(["rank", "query"]).iloc[0]
    q = rows[int(row["query"])]
    view = query_view(emb.sim, q, k, emb.caption_video, captions=emb.captions, videos=emb.video_ids)
    return view, row


def failure_figure(view: Any, dataset: RetrievalDataset, n_frames: int = 3) -> Any:
    """The failure's top-k clips (key frames, scores) and its true video, as a figure."""
    from mvkit.viz.gallery import FrameSource, render_query

    return render_query(view, FrameSource(dataset, num_frames=n_frames), n_frames=n_frames)


def embedding_figure(emb: SplitEmbeddings, langs: Sequence[str] = MAP_LANGS, method: str = "umap",
                     max_videos: int = 300, title: str | None = None, seed: int = 0) -> Any:
    """Embedding map (by modality, by language) of the split's videos and ``langs``' captions.

    At most ``max_videos`` videos (the first ones) with their captions keep the map legible.
    Captions of the same video in different languages are linked, so a well-aligned
    multilingual space shows short links.
    """
    from mvkit.viz.embedding_map import embedding_map

    t, v = emb.joint()
    n_v = min(max_videos, len(emb.video_ids))
    keep = [i for i, c in enumerate(emb.captions) if c.lang in set(langs) and emb.caption_video[i] < n_v]
    if not keep:
        raise ValueError(f"no captions in {list(langs)} among the first {n_v} videos")
    groups: dict[int, list[int]] = {}
    for j, i in enumerate(keep):
        groups.setdefault(int(emb.caption_video[i]), []).append(j)
    links = [g for g in groups.values() if len(g) > 1]
    return embedding_map(v[:n_v], t[keep], emb.caption_video[keep], [emb.captions[i].lang for i in keep],
                         translation_groups=links, method=method, random_state=seed, title=title)


