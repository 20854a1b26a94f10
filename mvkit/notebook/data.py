"""Open the data and features a notebook needs, with one encoder object per run.

:func:`open_data` gives a :class:`NotebookData`: the dataset, its feature store, the encoder
that made the features (passed down to training and analysis, never rebuilt from its name),
optionally worlds with other machine-translation noise (embedded world only) and a store whose
caption features come from a multilingual text tower (the zero-shot multilingual rows,
MKTVR's dual path, DCOT's judge). Worlds and stores are made once under ``MVKIT_HOME`` and
reused; stores that differ only in their text tower share their video features.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvkit.experiments.crosslingual import noise_key
from mvkit.notebook.params import DataParams, data_params
from mvkit.notebook.runs import runs_dir


def _store_for(params: DataParams, encoder: Any, progress: bool) -> tuple[Any, Any]:
    """(dataset, store) of ``params`` with features from ``encoder`` (built once)."""
    from mvkit.data import load
    from mvkit.features.extract import (
        ensure_dataset_store,
        ensure_store,
        store_dir_name,
        weights_id,
    )
    from mvkit.features.store import open_store

    if params.dataset == "embedded":
        from mvkit.data.synth import ensure_world

        world = ensure_world(params.n_videos, seed=params.seed)
        return load(world), open_store(ensure_store(world, encoder, num_frames=params.num_frames, progress=progress))
    if params.data_root is None:
        raise ValueError(f"dataset {params.dataset!r} needs data_root (the folder you downloaded it to)")
    from mvkit.paths import mvkit_home

    ds = load(params.dataset, root=params.data_root, variant=params.variant)
    name = params.dataset if params.variant is None else f"{params.dataset}-{params.variant}"
    out = mvkit_home() / "features" / name / store_dir_name(encoder.name, params.num_frames, weights_id(encoder),
                                                            getattr(encoder, "text_name", None))
    return ds, open_store(ensure_dataset_store(ds, out, encoder, num_frames=params.num_frames, progress=progress))


@dataclass
class NotebookData:
    """What a notebook trains and analyses on (see the module docstring)."""

    params: DataParams
    dataset: Any
    store: Any
    encoder: Any
    worlds: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)   # key -> (dataset, store, encoder)
    progress: bool = True
    _ml: tuple[Any, Any] | None = None

    @property
    def ml_encoder(self) -> Any:
        """The encoder with the multilingual text tower (``params.ml_text_model``), built once."""
        return self._multilingual()[0]

    @property
    def ml_store(self) -> Any:
        """The dataset's store with caption features from the multilingual text tower."""
        return self._multilingual()[1]

    def _multilingual(self) -> tuple[Any, Any]:
        if self._ml is None:
            p = self.params
            enc = self.encoder.with_text_model(p.ml_text_model, p.ml_text_pretrained)
            self._ml = (enc, _store_for(p, enc, self.progress)[1])
            self.worlds.setdefault("ml", (self.dataset, self._ml[1], enc))
        return self._ml

    def embed(self, models: Mapping[str, Any], variants: Sequence[Any] = (), split: str = "test",
              langs: Sequence[str] | None = None, kinds: Sequence[str] = ("human",)) -> dict[str, Any]:
        """``{name: SplitEmbeddings}`` of trained models, each read from the store its variant
        trained on (``Variant.data``: e.g. ``zero_shot_ml`` reads the multilingual tower's store)."""
        from mvkit.analysis.embeddings import embed_split_for_analysis

        key = {v.name: v.data for v in variants}
        out = {}
        for name, model in models.items():
            dataset, store = self.worlds[key.get(name, "default")][:2]
            out[name] = embed_split_for_analysis(model, dataset, store, split, langs=langs, kinds=kinds)
        return out

    def runs_dir(self, name: str) -> Path:
        """Where this data's runs of study ``name`` live (:func:`mvkit.notebook.runs_dir`)."""
        return runs_dir(self.dataset, self.store, name)


def open_data(overrides: Mapping[str, Any] | DataParams | None = None, *, noise_levels: Sequence[float] = (),
              multilingual: bool = False, progress: bool = True) -> NotebookData:
    """The data of a notebook: ``overrides`` is its ``DATA`` dict (see :mod:`mvkit.notebook.params`).

    noise_levels: also make the embedded world again with these machine-translation noise
    rates (same clips and human captions; keys ``noise<rate>`` in ``worlds``, the default
    rate is ``"default"``). multilingual: build the multilingual-tower store now (else on
    first use of ``ml_store``; key ``"ml"`` in ``worlds``). ``worlds`` values are
    ``(dataset, store, encoder)``, what :func:`mvkit.experiments.run_variants` takes.
    """
    from mvkit.features.encoders import create_encoder

    params = overrides if isinstance(overrides, DataParams) else data_params(overrides)
    encoder = create_encoder(params.encoder, params.pretrained, text_model=params.text_model,
                             text_pretrained=params.text_pretrained, device="cpu")
    dataset, store = _store_for(params, encoder, progress)
    data = NotebookData(params, dataset, store, encoder, {"default": (dataset, store, encoder)}, progress)
    levels = [n for n in noise_levels if noise_key(n) != "default"]
    if levels and params.dataset != "embedded":
        raise ValueError(f"noise levels {levels}: other MT noise rates exist only for the embedded world; "
                         "set NOISE_LEVELS = [] for a real dataset")
    if levels:
        from tqdm.auto import tqdm

        from mvkit.experiments.claims import caption_variant

        for n in tqdm(levels, desc="MT noise worlds", unit="world", disable=not progress):
            _, ds, st = caption_variant(Path(dataset.root), store, encoder, lambda _m: None, mt_noise=n,
                                        seed=params.seed)
            data.worlds[noise_key(n)] = ds, st, encoder
    if multilingual:
        data._multilingual()
    return data
