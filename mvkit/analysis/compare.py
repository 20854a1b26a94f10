"""Per-language comparisons of trained variants, as tidy tables (notebooks 03, 04 and 05).

The ablation notebook asks, for every test language: how well does each variant retrieve
(a value with its bootstrap interval), and is it better than the baseline on the *same*
queries (a paired difference with its interval and a permutation p-value)? The answers
come from the per-query test ranks that :func:`mvkit.experiments.run_variants` saves, so
every table here can be rebuilt from run directories alone:

* :func:`language_results` -- one row per (variant, language): metric, CI, paired
  difference vs the baseline, p;
* :func:`sweep_results` -- the same pooled over languages for runs that vary a condition
  (machine-translation noise, share of training data), paired against a reference method
  at the same condition;
* (the display form of these tables is :func:`mvkit.notebook.format_language_table`);
* :func:`examples_by_attribute` -- one failure per confused attribute for the gallery;
* :func:`link_by_video` / :func:`map_subset` -- which captions an embedding map joins.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mvkit.metrics import bootstrap_ci, paired_test

Run = Any   # a RunRecord or run directory, or a list of them (one per seed), as in experiments


def _ranks(run: Run, langs: Sequence[str]) -> tuple[list[str], np.ndarray]:
    from mvkit.analysis.run_ranks import selected_ranks

    return selected_ranks(run, langs=list(langs))


def _row(name: str, group: str, ids: list[str], r: np.ndarray, base: tuple[list[str], np.ndarray] | None,
         metric: str, n_boot: int, seed: int) -> dict[str, Any]:
    if not len(r):
        raise ValueError(f"variant {name!r}: no test queries in {group!r}")
    ci = bootstrap_ci(r, metric, n_boot=n_boot, seed=seed)
    row: dict[str, Any] = {"variant": name, "language": group, "n_queries": len(r), metric: ci.estimate,
                           f"{metric}_low": ci.low, f"{metric}_high": ci.high,
                           "diff": np.nan, "diff_low": np.nan, "diff_high": np.nan, "p": np.nan}
    if base is not None:
        if base[0] != ids:
            raise ValueError(f"variant {name!r} and the baseline ranked different {group!r} queries")
        t = paired_test(r, base[1], metric, n_boot=n_boot, n_perm=n_boot, seed=seed)
        row.update(diff=t.difference, diff_low=t.low, diff_high=t.high, p=t.p_value)
    return row


def language_results(runs: Mapping[str, Run], baseline: str, langs: Sequence[str], *, metric: str = "R1",
                     pooled: Mapping[str, Sequence[str]] | None = None, n_boot: int = 1000,
                     seed: int = 0) -> pd.DataFrame:
    """Per (variant, language): ``metric`` with its 95% bootstrap CI and the paired test vs ``baseline``.

    ``runs`` maps a variant name to its run (directory or record with ``ranks.json``);
    ``pooled`` adds rows over several languages at once (e.g. ``{"non-en": [...]}``).
    Columns: ``variant, language, n_queries, <metric>, <metric>_low, <metric>_high, diff,
    diff_low, diff_high, p`` (the diff columns are NaN on the baseline's own rows).
    Query q of a variant is paired with query q of the baseline (same caption id).
    """
    if baseline not in runs:
        raise ValueError(f"baseline {baseline!r} is not among the runs {list(runs)}")
    groups = [(l, [l]) for l in langs] + [(k, list(v)) for k, v in (pooled or {}).items()]
    rows = []
    for group, members in groups:
        base = _ranks(runs[baseline], members)
        for name, run in runs.items():
            ids, r = base if name == baseline else _ranks(run, members)
            rows.append(_row(name, group, ids, r, None if name == baseline else base, metric, n_boot, seed))
    return pd.DataFrame(rows)


def sweep_results(runs: Mapping[tuple[str, float], Run], reference: str, langs: Sequence[str], *,
                  condition: str = "condition", metric: str = "R1", n_boot: int = 1000,
                  seed: int = 0) -> pd.DataFrame:
    """Runs that vary a condition, pooled over ``langs``: metric + CI, paired vs ``reference``.

    ``runs`` maps ``(method, condition value)`` to a run. Each method is paired with the
    ``reference`` method at the same condition value (same queries). Columns: ``method,
    <condition>, n_queries, <metric>, <metric>_low, <metric>_high, diff, diff_low,
    diff_high, p``, sorted by method order then condition.
    """
    rows = []
    for (method, value), run in runs.items():
        ref = runs.get((reference, value))
        if ref is None:
            raise ValueError(f"no {reference!r} run at {condition}={value} to pair {method!r} with")
        ids, r = _ranks(run, langs)
        base = None if method == reference else _ranks(ref, langs)
        row = _row(method, "pooled", ids, r, base, metric, n_boot, seed)
        row.pop("language")
        row["method"] = row.pop("variant")
        rows.append({"method": row.pop("method"), condition: value, **row})
    if not rows:   # nothing swept (e.g. no noise levels on a real dataset)
        return pd.DataFrame(columns=["method", condition, "n_queries", metric, f"{metric}_low", f"{metric}_high",
                                     "diff", "diff_low", "diff_high", "p"])
    order = list(dict.fromkeys(m for m, _ in runs))
    df = pd.DataFrame(rows)
    df["_o"] = df["method"].map(order.index)
    return df.sort_values(["_o", condition]).drop(columns="_o").reset_index(drop=True)


# ---- failures -------------------------------------------------------------------------
def examples_by_attribute(failures: pd.DataFrame, attributes: Sequence[str], *, per: int = 1) -> dict[str, pd.DataFrame]:
    """Up to ``per`` failures per confused attribute (a :func:`failure_table`'s rows).

    Clean cases first: failures that confused *only* this attribute, then the nearest
    misses (lowest rank of the true video), then the query index; a query already shown
    for an earlier attribute is used again only when nothing else is left. Attributes
    without a failure are left out.
    """
    if "confused" not in failures.columns:
        raise ValueError(f"expected a failure_table with a 'confused' column, got {list(failures.columns)}")
    out: dict[str, pd.DataFrame] = {}
    ordered = failures.assign(_n=failures["confused"].map(len)).sort_values(["_n", "rank", "query"])
    used: set[int] = set()
    for attr in attributes:
        hit = ordered[[attr in c for c in ordered["confused"]]]
        if hit.empty:
            continue
        fresh = hit[~hit["query"].isin(used)]
        pick = pd.concat([fresh, hit[hit["query"].isin(used)]]).head(per).drop(columns="_n")
        used.update(int(q) for q in pick["query"])
        out[attr] = pick
    return out


def pick_query(wins: pd.DataFrame, winner: str, names: tuple[str, str], exclude_langs: Sequence[str] = ()) -> int:
    """An instructive query of :func:`~mvkit.analysis.failures.compare_models` (run with
    ``names``): one that only ``winner`` gets right, outside ``exclude_langs``, where the
    other model came closest (its true video ranked best), then the lowest query index.

    Falls back to the first query outside ``exclude_langs``, so a gallery always shows something.
    """
    if winner not in names:
        raise ValueError(f"winner {winner!r} is not one of the compared models {names}")
    loser_rank = "rank_a" if winner == names[1] else "rank_b"
    pool = wins[~wins["lang"].isin(list(exclude_langs))]
    if pool.empty:
        raise ValueError(f"no queries outside languages {list(exclude_langs)}")
    cand = pool[pool["winner"] == winner]
    if cand.empty:
        return int(pool["query"].min())
    return int(cand.sort_values([loser_rank, "query"])["query"].iloc[0])


# ---- embedding maps --------------------------------------------------------------------
def map_subset(caption_video: Sequence[int], langs: Sequence[str], keep_langs: Sequence[str],
               max_videos: int) -> tuple[np.ndarray, np.ndarray]:
    """(video rows, caption rows) for a legible map: the first ``max_videos`` videos and
    their captions in ``keep_langs``."""
    cv = np.asarray(caption_video, dtype=np.int64)
    n_v = int(min(max_videos, cv.max() + 1 if cv.size else 0))
    keep = set(keep_langs)
    rows = np.array([i for i, (v, l) in enumerate(zip(cv, langs)) if v < n_v and l in keep], dtype=np.int64)
    return np.arange(n_v), rows


def link_by_video(caption_video: Sequence[int], langs: Sequence[str]) -> list[list[int]]:
    """Groups of caption positions that describe one video in different languages.

    Human captions of the test split are written per language (not translations of one
    sentence), so the map links captions of the same video: one caption per language
    (the first), groups of two or more.
    """
    groups: dict[int, dict[str, int]] = {}
    for i, (v, l) in enumerate(zip(caption_video, langs)):
        groups.setdefault(int(v), {}).setdefault(l, i)
    return [list(g.values()) for g in groups.values() if len(g) > 1]


def language_gap_to(text_emb: Mapping[str, Any], langs: Sequence[str], anchor: str = "en") -> pd.DataFrame:
    """Centroid distance of every language to ``anchor`` (rows) for several models (columns).

    ``text_emb`` maps a model name to its caption embeddings (rows follow ``langs``).
    Cross-lingual training should shrink these distances.
    """
    from mvkit.analysis.geometry import language_gap

    cols = {}
    for name, t in text_emb.items():
        gap = language_gap(t, langs)
        if anchor not in gap.index:
            raise ValueError(f"no {anchor!r} captions to measure the language gap against")
        cols[name] = gap[anchor].drop(anchor)
    return pd.DataFrame(cols).rename_axis(index=f"gap to {anchor}")


def map_states(embeddings: Mapping[str, tuple[Any, Any]], caption_video: Sequence[int], langs: Sequence[str],
               keep_langs: Sequence[str], max_videos: int) -> dict[str, dict[str, Any]]:
    """Keyword arguments of :func:`mvkit.viz.embedding_map.compare_embedding_maps` per model.

    ``embeddings`` maps a model name to ``(text [Q, E], video [V, E])`` over the same
    captions and videos; every model is drawn on the same subset (:func:`map_subset`)
    with captions of one video linked across languages (:func:`link_by_video`).
    """
    vrows, crows = map_subset(caption_video, langs, keep_langs, max_videos)
    if not len(crows):
        raise ValueError(f"no captions in {list(keep_langs)} among the first {max_videos} videos")
    cv = np.asarray(caption_video, dtype=np.int64)[crows]
    sub_langs = [langs[i] for i in crows]
    links = link_by_video(cv, sub_langs)
    return {name: {"video_emb": np.asarray(v)[vrows], "text_emb": np.asarray(t)[crows], "caption_video": cv,
                   "langs": sub_langs, "translation_groups": links}
            for name, (t, v) in embeddings.items()}


def frozen_features(dataset: Any, store: Any, split: str = "test", langs: Sequence[str] | None = None,
                    stream: str = "appearance") -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """The feature encoder's own space before any training: ``(text [Q, D], video [V, D],
    caption_video [Q], captions)`` with videos as the mean of their frame features.

    Only meaningful when text and frames come from one contrastive model (CLIP-style), so
    that their dimensions agree; rows follow the same order as the trainer's evaluation.
    """
    from mvkit.train.data import build_split

    data = build_split(dataset, store, split, [stream], langs=langs, kinds=["human"])
    feats, mask = data.feats[stream].numpy(), data.masks[stream].numpy()
    video = (feats * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
    text = data.text.numpy()
    if text.shape[1] != video.shape[1]:
        raise ValueError(f"text features ({text.shape[1]}-d) and {stream} frames ({video.shape[1]}-d) "
                         "are not one space; the encoder is not a joint text-video model")
    return text, video, data.caption_video.numpy(), data.captions
