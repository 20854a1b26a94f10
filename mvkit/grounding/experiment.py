"""The grounding runs notebook 06 and ``mvkit claims-grounding`` share, reused when finished.

* :func:`open_grounding_data` -- the dataset and its clip store: the embedded grounding world
  (built once under ``MVKIT_HOME``) or any manifest with its downloaded files;
* :data:`VARIANTS` / :func:`train_variant` -- the trained models (DETR baseline, RGTR, RGTR
  without its IoU head, RGTR with translate-train); a run whose ``run.json`` holds the same
  config is not trained again, a killed one resumes;
* :func:`floor_for` -- the untrained sliding-window floor;
* :func:`ground` -- every model's ranked windows on one split.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TT_LANGS = ("de", "fr", "es", "zh")     # translate-train languages (the others stay zero-shot)


@dataclass(frozen=True)
class Variant:
    """A training run: a model preset plus config overrides (``GroundingConfig`` fields)."""

    name: str
    model: str
    label: str
    overrides: tuple[tuple[str, Any], ...] = ()


def variants(epochs: int) -> dict[str, Variant]:
    tt = ("train_select", ["en:human"] + [f"{lang}:machine-translated" for lang in TT_LANGS])
    vs = [Variant("detr", "detr", "Moment-DETR-style: learnable queries"),
          Variant("rgtr", "rgtr", "RGTR: anchor pairs, region matching, IoU-aware head"),
          Variant("rgtr_noiou", "rgtr_noiou", "RGTR without the IoU-aware head"),
          Variant("rgtr_tt", "rgtr", f"RGTR, translate-train ({', '.join(TT_LANGS)})",
                  (tt, ("langs", None), ("kinds", None), ("epochs", max(1, -(-epochs // 2)))))]
    return {v.name: v for v in vs}


def open_grounding_data(dataset: str = "embedded", data_root: str | None = None, *, encoder: str = "mvkit-tiny",
                        pretrained: str | None = None, progress: bool = True, **load_kw: Any) -> tuple[Any, Any]:
    """``(dataset, clip store)``; the embedded world is generated (smoke size under ``MVKIT_SMOKE=1``)."""
    from mvkit.data import load
    from mvkit.features.store import open_store
    from mvkit.grounding.features import ensure_clip_store
    from mvkit.grounding.world import ensure_grounding_world

    if dataset == "embedded":
        world = ensure_grounding_world()
        return load(world), open_store(ensure_clip_store(world, encoder, pretrained=pretrained, progress=progress))
    ds = load(dataset, root=data_root, **load_kw)
    return ds, open_store(ensure_clip_store(ds, encoder, pretrained=pretrained, progress=progress))


def runs_dir(dataset: Any, store: Any) -> Path:
    """``mvkit_home()/runs/grounding/<dataset>-<weights>``: where notebook runs live."""
    from mvkit.paths import mvkit_home

    w = str(store.provenance.get("weights_sha256", ""))[:10]
    return mvkit_home() / "runs" / "grounding" / f"{dataset.name}-{w}"


def train_variant(v: Variant, dataset: Any, store: Any, out: str | Path, epochs: int, seed: int = 0,
                  bootstrap: int = 200, threads: int | None = 1) -> Path:
    """Train ``v`` into ``out/<name>-s<seed>`` unless that run (same config) is finished; the best checkpoint.

    ``threads=1``: one torch thread is the fastest setting on a small, shared CPU.
    """
    from mvkit.grounding.train import GroundingConfig, fit_grounding
    from mvkit.io import read_json

    run_dir = Path(out) / f"{v.name}-s{seed}"
    cfg = GroundingConfig(data=str(dataset.root), store=str(store.path), out=str(run_dir), model=v.model,
                          epochs=epochs, seed=seed, bootstrap=bootstrap, threads=threads)
    for k, val in v.overrides:
        setattr(cfg, k, val)
    done = run_dir / "run.json"
    free = {"resume", "threads", "device", "bootstrap"}
    same = lambda old: {k: x for k, x in old.items() if k not in free} == \
        {k: x for k, x in asdict(cfg).items() if k not in free}
    if done.exists() and same(read_json(done)["config"]):
        return run_dir / "best.safetensors"
    cfg.resume = (run_dir / "last.safetensors").exists()
    fit_grounding(cfg, dataset=dataset, store=store)
    return run_dir / "best.safetensors"


def floor_for(dataset: Any, store: Any) -> Any:
    """The sliding-window floor with window lengths from the training moments (English queries)."""
    from mvkit.grounding.data import build_grounding_split
    from mvkit.grounding.models import SlidingWindowFloor, joint_streams

    train = build_grounding_split(dataset, store, "train", langs=["en"], kinds=["human"])
    return SlidingWindowFloor.from_training(train, joint_streams(store.provenance))


def ground(models: Mapping[str, Any], split: Any) -> dict[str, Any]:
    """``{name: Ranked}``: each model's windows for every query of ``split``."""
    from mvkit.grounding.evaluate import predict

    return {name: predict(m, split) for name, m in models.items()}
