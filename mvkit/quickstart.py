"""The quick-start loop of notebook 00 as one call (``mvkit demo``), over the notebook layer.

data -> features -> train -> per-language evaluation -> one failure -> one embedding map, with
the same functions notebook 00 calls cell by cell (:mod:`mvkit.notebook`).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def run_quickstart(out: str | os.PathLike, *, data: dict[str, Any] | None = None, langs: Sequence[str] | None = None,
                   epochs: int | None = None, head: str = "fusion", loss: str = "infonce",
                   text_encoder: str = "bag", map_method: str | None = None, failure_lang: str = "en",
                   bootstrap: int = 1000, progress: bool = True) -> dict[str, Any]:
    """Run the quick-start end to end and write it under ``out``; returns what it made.

    ``data``: overrides of :data:`mvkit.notebook.DATA_DEFAULTS` (dataset, encoder, seed, ...).
    ``out`` receives ``run.json`` (the run record: config, protocol, per-language results
    with CIs), ``best.safetensors``, ``results.csv`` (the per-language table),
    ``failure.png`` + ``failure.json`` and ``embedding.png``. ``epochs=None`` and
    ``map_method=None`` pick the full defaults (10 epochs, UMAP) or, under
    ``MVKIT_SMOKE=1``, the smoke ones (3 epochs, PCA).
    """
    import matplotlib

    from mvkit import notebook as nb
    from mvkit import setup
    from mvkit._setup import smoke
    from mvkit.analysis.embeddings import embed_split_for_analysis
    from mvkit.io import atomic_write_json
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")   # writes PNGs; never needs a display
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    quick = smoke()
    epochs = epochs if epochs is not None else (3 if quick else 10)
    map_method = map_method or ("pca" if quick else "umap")
    params = nb.data_params(data)
    setup(params.seed)
    d = nb.open_data(params, progress=progress)
    cfg = nb.train_config(d.dataset, d.store, langs=langs, epochs=epochs, out=out, head=head, loss=loss,
                          seed=params.seed, bootstrap=bootstrap, text_encoder=text_encoder)
    record = nb.train(cfg, d.dataset, d.store, encoder=d.encoder, progress=progress)
    table = nb.results_by_language(record)
    table.to_csv(out / "results.csv", index=False)
    emb = embed_split_for_analysis(record.model, d.dataset, d.store, "test", langs=cfg.eval_langs)
    made: dict[str, Any] = {"out": str(out), "run": str(out / "run.json"), "results": str(out / "results.csv"),
                            "table": table, "record": record}
    view, row = nb.pick_failure(emb, d.dataset, failure_lang if failure_lang in cfg.eval_langs else cfg.eval_langs[0])
    if view is not None:
        fig = nb.failure_figure(view, d.dataset)
        fig.savefig(out / "failure.png", dpi=110)
        plt.close(fig)
        atomic_write_json(out / "failure.json", {
            "caption_id": view.caption_id, "lang": view.lang, "text": view.text,
            "true_video": view.true_video_ids[0], "true_rank": view.true_rank,
            "top_k": list(view.video_ids), "scores": [float(s) for s in view.scores],
            "confused_attributes": list(row["confused"]), "split": "test"})
        made["failure"] = str(out / "failure.png")
    map_langs = [lang for lang in nb.MAP_LANGS if lang in cfg.eval_langs] or cfg.eval_langs[:5]
    fig = nb.embedding_figure(emb, map_langs, method=map_method, seed=params.seed)
    fig.savefig(out / "embedding.png", dpi=110)
    plt.close(fig)
    made["embedding"] = str(out / "embedding.png")
    return made
