"""Per-query test ranks of a run (``ranks.json``): written once after training, read by every comparison.

Paired tests compare two models query by query, so every run keeps the rank of the true
video for every human test caption of every language. A run is named by its directory or
its :class:`~mvkit.train.RunRecord`; several seeds' runs pool their queries.
Translate-test ranks (:func:`translate_test_ranks`) use the *source* caption's id and
language for each machine translation into English, so they pair with the human queries.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mvkit.data.records import RetrievalDataset
from mvkit.io import atomic_write_json, read_json

RANKS_FILE = "ranks.json"
Runs = Any   # a RunRecord or run directory, or a list of them (one per seed: queries pooled)


@dataclass
class Ranks:
    """Per-query text->video ranks of one run on the test split (all human captions)."""

    caption_ids: list[str]
    langs: list[str]
    t2v: np.ndarray

    def select(self, keep: Iterable[str] | None = None, langs: Iterable[str] | None = None) -> tuple[list[str], np.ndarray]:
        """(caption ids, ranks) of the queries in ``keep`` (caption ids) and/or ``langs``, sorted by id."""
        keep_set = None if keep is None else set(keep)
        lang_set = None if langs is None else set(langs)
        rows = [i for i, (c, l) in enumerate(zip(self.caption_ids, self.langs))
                if (keep_set is None or c in keep_set) and (lang_set is None or l in lang_set)]
        rows.sort(key=lambda i: self.caption_ids[i])
        return [self.caption_ids[i] for i in rows], self.t2v[rows]


@torch.no_grad()
def query_ranks(model: Any, dataset: RetrievalDataset, store: Any, split: str = "test") -> Ranks:
    """Rank every human caption of ``split`` (all languages) against the split's videos."""
    from mvkit.metrics import ranks
    from mvkit.train.data import split_for_model
    from mvkit.train.evaluate import embed_split

    data = split_for_model(model, dataset, store, split, kinds=["human"])
    te, ve = embed_split(model, data, next(model.parameters()).device)
    sim = model.similarity_matrix(te, ve)
    pos = data.caption_video[:, None] == torch.arange(sim.shape[1])[None, :]
    r = ranks(sim, pos).cpu().numpy().astype(np.int64)
    return Ranks([c.caption_id for c in data.captions], data.langs, r)


def write_ranks(path: str | Path, r: Ranks) -> None:
    atomic_write_json(path, {"caption_ids": r.caption_ids, "langs": r.langs, "t2v": r.t2v.tolist()}, indent=None)


def load_ranks(run_dir: str | Path) -> Ranks:
    """The ``ranks.json`` of a finished variant (its directory or any file in it)."""
    p = Path(run_dir)
    p = p if p.is_dir() else p.parent
    d = read_json(p / RANKS_FILE)
    t2v = np.asarray(d["t2v"], dtype=np.int64)
    if len(t2v) != len(d["caption_ids"]) or len(t2v) != len(d["langs"]):
        raise ValueError(f"{p / RANKS_FILE}: caption_ids, langs and t2v differ in length")
    return Ranks(list(d["caption_ids"]), list(d["langs"]), t2v)


@torch.no_grad()
def translate_test_ranks(model: Any, dataset: RetrievalDataset, store: Any, split: str = "test") -> Ranks:
    """Translate-test: English queries as they are, every other language's queries replaced by
    their machine translation into English; ids and languages are the source captions', so
    the result pairs with :func:`query_ranks` of any model on the same split."""
    from mvkit.metrics import ranks
    from mvkit.train.data import split_for_model
    from mvkit.train.evaluate import embed_split

    data = split_for_model(model, dataset, store, split, kinds=["human", "machine-translated"])
    keep = [i for i, c in enumerate(data.captions)
            if (c.kind == "human" and c.lang == "en") or c.is_translate_test]
    if not any(data.captions[i].is_translate_test for i in keep):
        raise ValueError(f"{dataset.source or dataset.name}: no translate-test captions in the {split!r} split")
    data = data.subset_captions(keep)
    te, ve = embed_split(model, data, next(model.parameters()).device)
    sim = model.similarity_matrix(te, ve)
    pos = data.caption_video[:, None] == torch.arange(sim.shape[1])[None, :]
    r = ranks(sim, pos).cpu().numpy().astype(np.int64)
    ids = [c.source_id if c.is_translate_test else c.caption_id for c in data.captions]
    return Ranks(ids, list(data.query_langs), r)


def run_dir_of(record: Any) -> Path:
    """The directory of a run (a RunRecord with ``run_dir`` or ``config["out"]``, or a path)."""
    if isinstance(record, (str, Path)):
        return Path(record)
    d = getattr(record, "run_dir", None) or Path(record.config["out"])
    return Path(d)


def run_name(runs: Runs) -> str:
    """The name (folder name) of a run, or of the first of several seeds' runs."""
    return run_dir_of(runs[0] if isinstance(runs, (list, tuple)) else runs).name


def selected_ranks(runs: Runs, keep: Iterable[str] | None = None,
                   langs: Iterable[str] | None = None) -> tuple[list[str], np.ndarray]:
    """(query ids, ranks) of one run, or of several seeds' runs concatenated (ids ``<k>/<caption>``)."""
    if not isinstance(runs, (list, tuple)):
        return load_ranks(run_dir_of(runs)).select(keep, langs)
    ids, parts = [], []
    for k, r in enumerate(runs):
        i, x = load_ranks(run_dir_of(r)).select(keep, langs)
        ids += [f"{k}/{c}" for c in i]
        parts.append(x)
    return ids, np.concatenate(parts) if parts else np.zeros(0, np.int64)


