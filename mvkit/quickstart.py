"""The quick-start loop, shared by notebook 00 and ``mvkit demo`` so both run the same code.

data -> features -> train -> per-language evaluation -> one failure -> one embedding map:

* :func:`prepare` gives a :class:`~mvkit.data.records.RetrievalDataset` and its
  :class:`~mvkit.features.store.FeatureStore`. The embedded world goes through
  ``ensure_world`` + ``ensure_store`` (made once under ``mvkit_home()``); a real dataset
  (``"msrvtt"`` with ``data_root=``) goes through ``mvkit.data.load`` and the same
  extractor, so switching dataset or encoder is a change of arguments only.
* :func:`train_config` fills a :class:`~mvkit.train.TrainConfig` with the quick-start
  defaults (fused object + activity spaces, InfoNCE, English human captions plus the
  machine translations into every other language; evaluation on human captions of every
  language).
* :func:`train` runs :func:`mvkit.train.fit` with a progress bar over epochs.
* :func:`language_table`, :func:`embed_split_for_analysis`, :func:`pick_failure` and
  :func:`embedding_figure` turn the trained model into the numbers and pictures.
* :func:`run_quickstart` chains them and writes a run folder (``mvkit demo``).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mvkit.data.records import CaptionRecord, RetrievalDataset

#: Languages drawn in the quick-start embedding map (several scripts, high and low resource).
MAP_LANGS = ("en", "de", "zh", "hi", "sw")
#: Metrics of the per-language table; each carries its bootstrap 95% interval.
TABLE_METRICS = ("R1", "R5", "R10", "MdR")


# ---- data and features ------------------------------------------------------------------
def prepare(dataset: str = "embedded", data_root: str | os.PathLike | None = None, *,
            encoder: str = "mvkit-tiny", pretrained: str | None = None, num_frames: int = 8,
            n_videos: int | None = None, seed: int = 0, variant: str | None = None,
            device: str | torch.device | None = None, progress: bool = True) -> tuple[RetrievalDataset, Any]:
    """The dataset and its (cached) feature store, built on first use and reused after.

    ``dataset="embedded"`` makes the embedded world (``n_videos=None``: the default size,
    or the smoke size under ``MVKIT_SMOKE=1``). Any other name is a manifest
    (``data_manifests/<name>.json``) read from ``data_root`` with ``variant``; its
    features go to ``<MVKIT_HOME>/features/<name>[-<variant>]/<encoder>...``. ``encoder`` and
    ``pretrained`` are passed to :func:`mvkit.features.encoders.create_encoder`
    (``"ViT-B-32"``, ``"openai"`` for real CLIP weights).
    """
    from mvkit.data import load
    from mvkit.features.store import open_store

    dev = None if device is None else str(device)
    if dataset == "embedded":
        from mvkit.data.synth import ensure_world
        from mvkit.features.extract import ensure_store

        world = ensure_world(n_videos, seed=seed)
        path = ensure_store(world, encoder, pretrained, num_frames, device=dev, progress=progress)
        return load(world), open_store(path)
    if data_root is None:
        raise ValueError(f"prepare: dataset {dataset!r} needs data_root= (the folder you downloaded it to)")
    from mvkit.features.encoders import create_encoder
    from mvkit.features.extract import ensure_dataset_store, store_dir_name, weights_id
    from mvkit.paths import mvkit_home

    ds = load(dataset, root=data_root, variant=variant)
    name = dataset if variant is None else f"{dataset}-{variant}"   # variants list different videos
    enc = create_encoder(encoder, pretrained, device=dev)
    out = mvkit_home() / "features" / name / store_dir_name(encoder, pretrained, num_frames, weights_id(enc))
    path = ensure_dataset_store(ds, out, enc, pretrained, num_frames, device=dev, progress=progress)
    return ds, open_store(path)


# ---- training ---------------------------------------------------------------------------
def runs_dir(dataset: RetrievalDataset, name: str) -> Path:
    """Where a notebook keeps its training runs: ``<MVKIT_HOME>/runs/<dataset name>/<name>``.

    Keyed by the dataset's name (the embedded world's name includes its size and seed), so
    smoke and full runs never mix, and a re-run reuses finished runs with the same config.
    """
    from mvkit.paths import mvkit_home

    return mvkit_home() / "runs" / dataset.name / name


def _available(dataset: RetrievalDataset, split: str) -> set[tuple[str, str]]:
    vids = {v.video_id for v in dataset.videos if v.split == split}
    return {(c.lang, c.kind) for c in dataset.captions if c.video_id in vids}


def train_config(dataset: RetrievalDataset, store: Any, *, langs: Sequence[str] | None = None,
                 epochs: int = 10, out: str | os.PathLike | None = None, head: str = "fusion",
                 loss: str = "infonce", batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                 bootstrap: int = 1000, **overrides: Any) -> Any:
    """The quick-start :class:`~mvkit.train.TrainConfig` for ``dataset``.

    Training captions: English human captions plus the machine translations of them into
    every other language of ``langs`` (translate-train), where the dataset has them.
    Head: ``fusion`` (Mithun et al.'s object space on appearance + activity space on motion
    and audio, similarities summed): on the shipped mvkit-tiny features it roughly doubles
    the English R@1 of mean pooling of appearance alone (smoke world, 3 epochs: 30% vs 15%).
    Evaluation: the human captions of every language of ``langs`` that the test split
    has (``langs=None``: all of the dataset's languages). ``overrides`` go to TrainConfig.
    """
    from mvkit.train import TrainConfig

    langs = list(langs) if langs is not None else sorted({c.lang for c in dataset.captions})
    train_have, test_have = _available(dataset, "train"), _available(dataset, "test")
    select = [f"{l}:{k}" for l in langs for k in ("human", "machine-translated")
              if (l, k) in train_have and (l == "en" or k == "machine-translated")]
    if not select:
        select = [f"{l}:human" for l in langs if (l, "human") in train_have]
    eval_langs = [l for l in langs if (l, "human") in test_have]
    if not select or not eval_langs:
        raise ValueError(f"{dataset.name}: no training or test captions in languages {langs}")
    kw: dict[str, Any] = {
        "data": str(dataset.root), "store": str(getattr(store, "path", "")),
        "out": None if out is None else str(out), "head": head, "loss": loss, "train_select": select,
        "langs": None, "kinds": None, "eval_langs": eval_langs, "eval_kinds": ["human"],
        "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed, "bootstrap": bootstrap,
        "threads": 1,   # tiny heads on a shared CPU run fastest on one thread
    }
    kw.update(overrides)
    return TrainConfig(**kw)


def train(config: Any, dataset: RetrievalDataset, store: Any, *, progress: bool = True,
          desc: str | None = None) -> Any:
    """:func:`mvkit.train.fit` with a tqdm bar over epochs (loss and val score as it goes).

    Returns the run record; ``record.model`` holds the selected (best-on-val) model.
    """
    from tqdm.auto import tqdm

    from mvkit.train import fit

    bar = tqdm(total=config.epochs, desc=desc or f"train {config.head}+{config.loss}", unit="epoch",
               disable=not progress)

    def tick(epoch: int, state: dict[str, Any]) -> None:
        last = state["history"][-1]
        bar.set_postfix(loss=f"{last['loss']:.3f}", val=f"{last['val_score']:.1f}")
        bar.update(1)

    try:
        return fit(config, dataset=dataset, store=store, callbacks=[tick])
    finally:
        bar.close()


# ---- results ----------------------------------------------------------------------------
def language_table(record: Any, metrics: Sequence[str] = TABLE_METRICS,
                   split: str = "results") -> pd.DataFrame:
    """Tidy per-language results: one row per (language, direction) with each metric and CI.

    Columns ``language, direction, n_queries, <m>, <m>_low, <m>_high`` and ``chance_R1``
    (100 / gallery size: what a random ranking scores); English first, then the other
    languages in the record's order, t2v before v2t.
    """
    d = record.to_dict() if hasattr(record, "to_dict") else dict(record)
    results = d[split]
    rows = []
    for lang in sorted(results, key=lambda l: l != "en"):   # stable: keeps the others' order
        res = results[lang]
        for direction in ("t2v", "v2t"):
            n_gallery = res["n_videos"] if direction == "t2v" else res["n_captions"]
            row: dict[str, Any] = {"language": lang, "direction": direction,
                                   "n_queries": res["n_captions"] if direction == "t2v" else res.get("n_v2t_queries"),
                                   "chance_R1": 100.0 / max(n_gallery, 1)}
            ci = (res.get("ci") or {}).get(direction, {})
            for m in metrics:
                row[m] = float(res[direction][m])
                if m in ci:
                    row[f"{m}_low"], row[f"{m}_high"] = (float(x) for x in ci[m])
            rows.append(row)
    return pd.DataFrame(rows)


def format_language_table(df: pd.DataFrame, metrics: Sequence[str] = ("R1", "R5", "MdR"),
                          digits: int = 1) -> pd.DataFrame:
    """Display form of :func:`language_table`: ``"value [low, high]"`` per metric and direction."""
    from mvkit.viz.plots import results_table

    wide = results_table(df, metrics=metrics, index=("language", "direction"), digits=digits)
    wide = wide.unstack("direction")
    wide = wide.reindex(columns=[(m, d) for d in ("t2v", "v2t") for m in metrics])
    wide.columns = [f"{d} {m}" for m, d in wide.columns]
    return wide.loc[list(dict.fromkeys(df["language"]))]


@dataclass
class SplitEmbeddings:
    """A trained model's view of one split: captions (rows), videos (columns), similarities."""

    captions: list[CaptionRecord]
    video_ids: list[str]
    caption_video: np.ndarray      # int [Q]: column of each caption's video
    text: dict[str, torch.Tensor]  # the model's text embeddings (one tensor per space)
    video: dict[str, torch.Tensor]
    sim: np.ndarray                # float [Q, V] text-to-video similarity

    @property
    def langs(self) -> list[str]:
        return [c.lang for c in self.captions]

    def joint(self) -> tuple[np.ndarray, np.ndarray]:
        """(text [Q, E], video [V, E]) vectors whose dot product is the model's score.

        Each space's unit vectors are scaled by the square root of its fusion weight and
        concatenated, so one 2-D map shows the space the model actually ranks in.
        Only for heads that pool a video into one vector (mean, seqTransf, activity, fusion).
        """
        return _joint(self.text, self.video, self._weights)

    _weights: dict[str, float] | None = None


def _joint(text: dict, video: dict, weights: dict | None) -> tuple[np.ndarray, np.ndarray]:
    ts, vs = [], []
    for space, t in text.items():
        key = f"{space}.v"
        if key not in video:
            raise ValueError(f"space {space!r} has no single video vector (keys {sorted(video)}); "
                             "embedding maps need a pooling head (mean, seqtransf, activity, fusion)")
        w = float((weights or {}).get(space, 1.0)) ** 0.5
        ts.append(w * torch.nn.functional.normalize(t.float(), dim=-1))
        vs.append(w * video[key].float())
    return torch.cat(ts, 1).numpy(), torch.cat(vs, 1).numpy()


def embed_split_for_analysis(model: Any, dataset: RetrievalDataset, store: Any, split: str = "test",
                             langs: Sequence[str] | None = None, kinds: Sequence[str] = ("human",)
                             ) -> SplitEmbeddings:
    """Embed a split's captions and videos with ``model`` and score every pair.

    The same data and similarity the trainer's evaluation uses (``build_split`` +
    ``embed_split`` + ``similarity_matrix``), kept for failure views and maps.
    """
    from mvkit.train.data import split_for_model
    from mvkit.train.evaluate import embed_split

    device = next(model.parameters()).device
    data = split_for_model(model, dataset, store, split, langs=langs, kinds=kinds)
    te, ve = embed_split(model, data, device)
    sim = model.similarity_matrix(te, ve).numpy()
    out = SplitEmbeddings(data.captions, data.video_ids, data.caption_video.numpy(),
                          {k: v.cpu() for k, v in te.items()}, {k: v.cpu() for k, v in ve.items()}, sim)
    out._weights = dict(getattr(model, "weights", {}))
    return out


def pick_failure(emb: SplitEmbeddings, dataset: RetrievalDataset, lang: str = "en", k: int = 5):
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


def failure_figure(view: Any, dataset: RetrievalDataset, n_frames: int = 3):
    """The failure's top-k clips (key frames, scores) and its true video, as a figure."""
    from mvkit.viz.gallery import FrameSource, render_query

    return render_query(view, FrameSource(dataset, num_frames=n_frames), n_frames=n_frames)


def embedding_figure(emb: SplitEmbeddings, langs: Sequence[str] = MAP_LANGS, method: str = "umap",
                     max_videos: int = 300, title: str | None = None, seed: int = 0):
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


# ---- the whole loop -----------------------------------------------------------------------
def run_quickstart(out: str | os.PathLike, *, dataset: str = "embedded", data_root: str | None = None,
                   encoder: str = "mvkit-tiny", pretrained: str | None = None, langs: Sequence[str] | None = None,
                   epochs: int | None = None, head: str = "fusion", loss: str = "infonce", seed: int = 0,
                   map_method: str | None = None, failure_lang: str = "en", bootstrap: int = 1000,
                   progress: bool = True) -> dict[str, Any]:
    """Run the quick-start end to end and write it under ``out``; returns what it made.

    ``out`` receives ``run.json`` (the run record: config, protocol, per-language results
    with CIs), ``best.safetensors``, ``results.csv`` (the per-language table),
    ``failure.png`` + ``failure.json`` and ``embedding.png``. ``epochs=None`` and
    ``map_method=None`` pick the full defaults (10 epochs, UMAP) or, under
    ``MVKIT_SMOKE=1``, the smoke ones (3 epochs, PCA).
    """
    import matplotlib

    from mvkit import setup
    from mvkit._setup import smoke
    from mvkit.io import atomic_write_json
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")   # writes PNGs; never needs a display
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    quick = smoke()
    epochs = epochs if epochs is not None else (3 if quick else 10)
    map_method = map_method or ("pca" if quick else "umap")
    setup(seed)
    ds, store = prepare(dataset, data_root, encoder=encoder, pretrained=pretrained, seed=seed, progress=progress)
    cfg = train_config(ds, store, langs=langs, epochs=epochs, out=out, head=head, loss=loss, seed=seed,
                       bootstrap=bootstrap)
    record = train(cfg, ds, store, progress=progress)
    table = language_table(record)
    table.to_csv(out / "results.csv", index=False)
    emb = embed_split_for_analysis(record.model, ds, store, "test", langs=cfg.eval_langs)
    made: dict[str, Any] = {"out": str(out), "run": str(out / "run.json"), "results": str(out / "results.csv"),
                            "table": table, "record": record}
    view, row = pick_failure(emb, ds, failure_lang if failure_lang in cfg.eval_langs else cfg.eval_langs[0])
    if view is not None:
        fig = failure_figure(view, ds)
        fig.savefig(out / "failure.png", dpi=110)
        plt.close(fig)
        atomic_write_json(out / "failure.json", {
            "caption_id": view.caption_id, "lang": view.lang, "text": view.text,
            "true_video": view.true_video_ids[0], "true_rank": view.true_rank,
            "top_k": list(view.video_ids), "scores": [float(s) for s in view.scores],
            "confused_attributes": list(row["confused"]), "split": "test"})
        made["failure"] = str(out / "failure.png")
    map_langs = [l for l in MAP_LANGS if l in cfg.eval_langs] or cfg.eval_langs[:5]
    fig = embedding_figure(emb, map_langs, method=map_method, seed=seed)
    fig.savefig(out / "embedding.png", dpi=110)
    plt.close(fig)
    made["embedding"] = str(out / "embedding.png")
    return made
