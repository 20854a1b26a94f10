"""Evaluation of a retrieval model on one split, per language, with bootstrap intervals.

Texts and videos are embedded once; the similarity matrix is scored in chunks (so a
text-conditioned head never forms a [videos, texts, dim] tensor) and ranked with
``mvkit.metrics.ranks`` (pessimistic ties). Text->video ranks each caption against every
video of the split; video->text ranks each video that has a caption in the language
against that language's captions.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from mvkit.models.fusion import Emb, RetrievalModel
from mvkit.train.data import SplitData, split_for_model


@torch.no_grad()
def embed_split(model: RetrievalModel, data: SplitData, device: torch.device | str = "cpu",
                batch: int = 512) -> tuple[Emb, Emb]:
    """(text embeddings of all captions, video embeddings of all videos) of a split, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        def cat(parts: list[Emb]) -> Emb:
            return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        nt, nv = len(data.captions), len(data.video_ids)
        te = cat([model.embed_text(data.text_batch(torch.arange(i, min(i + batch, nt))).to(device))
                  for i in range(0, nt, batch)])
        ve = cat([model.embed_video(data.video_batch(torch.arange(i, min(i + batch, nv))).to(device))
                  for i in range(0, nv, batch)])
    finally:
        model.train(was_training)
    return te, ve


#: metrics that get a bootstrap 95% interval ([low, high]) in the results
CI_METRICS = ("R1", "R5", "R10", "MdR", "RSum")


def _summaries(r: torch.Tensor, bootstrap: int, seed: int) -> tuple[dict, dict | None]:
    from mvkit.metrics import summarize

    summary = {k: float(v) for k, v in summarize(r).items()}
    if not bootstrap:
        return summary, None
    from mvkit.metrics import bootstrap_ci

    ci = {m: list(bootstrap_ci(r, m, n_boot=bootstrap, seed=seed)[1:]) for m in CI_METRICS}
    return summary, ci


def evaluate_split(model: RetrievalModel, data: SplitData, *, langs: Sequence[str] | None = None,
                   device: torch.device | str = "cpu", bootstrap: int = 0, seed: int = 0,
                   text_chunk: int = 512, video_chunk: int = 256,
                   by_query_lang: bool = False) -> dict[str, dict[str, Any]]:
    """Per-language retrieval metrics of ``model`` on a loaded split.

    Returns ``{lang: {"t2v": summary, "v2t": summary, "ci": {"t2v": ..., "v2t": ...} (when
    ``bootstrap`` > 0, 95% over queries), "n_captions", "n_videos"}}``. ``by_query_lang``
    groups queries by the language they stand for (``SplitData.query_langs``): a
    translate-test query (machine translation into English) counts for its source language.
    """
    from mvkit.metrics import ranks

    te, ve = embed_split(model, data, device)
    sim = model.similarity_matrix(te, ve, text_chunk, video_chunk)      # [Nt, Nv] on CPU
    cap_lang = data.query_langs if (by_query_lang and data.query_langs is not None) else data.langs
    out: dict[str, dict[str, Any]] = {}
    for lang in (langs or sorted(set(cap_lang))):
        rows = torch.tensor([i for i, l in enumerate(cap_lang) if l == lang], dtype=torch.long)
        if not len(rows):
            raise ValueError(f"split {data.split!r} has no {lang!r} captions to evaluate")
        s = sim[rows]
        pos = data.caption_video[rows][:, None] == torch.arange(s.shape[1])[None, :]
        has = pos.any(0)                         # videos with a caption in this language
        t2v = ranks(s, pos)
        v2t = ranks(s[:, has].t(), pos[:, has].t())
        st, ct = _summaries(t2v, bootstrap, seed)
        sv, cv = _summaries(v2t, bootstrap, seed)
        res: dict[str, Any] = {"t2v": st, "v2t": sv, "n_captions": len(rows),
                               "n_videos": int(s.shape[1]), "n_v2t_queries": int(has.sum())}
        if bootstrap:
            res["ci"] = {"t2v": ct, "v2t": cv}
        out[lang] = res
    return out


def selection_score(results: dict[str, dict[str, Any]]) -> float:
    """Model-selection criterion: mean over languages of RSum(t2v) + RSum(v2t)."""
    return float(sum(r["t2v"]["RSum"] + r["v2t"]["RSum"] for r in results.values()) / max(len(results), 1))


SELECTION_CRITERION = "mean over languages of RSum(t2v) + RSum(v2t) on the val split"


def evaluate(model: RetrievalModel, dataset: Any, store: Any, split: str = "test",
             langs: Sequence[str] | None = None, *, kinds: Sequence[str] | None = ("human",),
             ml_store: Any | None = None, bootstrap: int = 1000, seed: int = 0,
             device: torch.device | str | None = None, allow_missing_videos: bool = False) -> dict[str, dict[str, Any]]:
    """Evaluate ``model`` on ``split`` of ``dataset`` with features from ``store``, per language.

    kinds: caption kinds to query with (default human, as ``fit`` reports; None: all). A
    model with a trainable text side tokenises the captions with its own tokenizer. Videos
    of an evaluation split without features are an error unless ``allow_missing_videos``.
    Never use the test split to choose a model.
    """
    device = torch.device(device) if device else next(model.parameters()).device
    data = split_for_model(model, dataset, store, split, langs=langs, kinds=kinds, ml_store=ml_store,
                           allow_missing_videos=allow_missing_videos)
    return evaluate_split(model, data, langs=langs, device=device, bootstrap=bootstrap, seed=seed)
