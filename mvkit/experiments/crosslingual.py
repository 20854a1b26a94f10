"""The cross-lingual ablation grid of notebook 03 (whose runs notebooks 04 and 05 reuse).

Variants (one :class:`~mvkit.experiments.ablations.Variant` each, mean head on cached
features, selection on val, per-query test ranks saved by ``run_variants``):

* ``zero_shot`` -- English human captions only, selected on English val: the baseline;
* ``translate_train`` -- English + machine translations into every target language;
* ``joint`` -- translate-train + the (scarce) human training captions of every language;
* ``partial_order`` -- translate-train data, hinge + RUDDER's partial-order loss over probes;
* ``c2kd`` -- translate-train + distillation from the frozen ``zero_shot`` model (C2KD);
* noise-robust training (``nrccr``, ``dcot``) against plain InfoNCE translate-train as the
  machine-translation noise rate of the world and the share of training videos vary.

Runs live under ``mvkit_home()/runs/notebooks/<dataset>-<weights>/`` so a second notebook
(or a second run of the same notebook) reuses finished runs with the same config.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mvkit.experiments.ablations import Variant, run_dir_of, run_variants
from mvkit.train import RunRecord, TrainConfig

MAIN = ("zero_shot", "translate_train", "joint", "partial_order", "c2kd")
ROBUST = ("infonce", "nrccr", "dcot")
LABELS = {
    "zero_shot": "zero-shot: English captions only",
    "translate_train": "translate-train: English + MT into the target languages",
    "joint": "joint multilingual: translate-train + human captions of every language",
    "partial_order": "translate-train data, hinge + partial-order loss (RUDDER probes)",
    "c2kd": "translate-train + C2KD distillation from the zero-shot model",
    "infonce": "translate-train, InfoNCE",
    "nrccr": "translate-train, NRCCR (noise-robust)",
    "dcot": "translate-train, DCOT (noise-robust)",
}


def default_mt_noise() -> float:
    """The machine-translation noise rate of the default embedded world."""
    from mvkit.data.synth import generate_world

    return float(inspect.signature(generate_world).parameters["mt_noise"].default)


def noise_key(level: float) -> str:
    """Data key of the world with MT noise ``level`` (the default world is ``"default"``)."""
    return "default" if abs(level - default_mt_noise()) < 1e-9 else f"noise{level:g}"


# ---- data ----------------------------------------------------------------------------
def open_data(dataset: str = "embedded", data_root: str | None = None, *, encoder: str = "mvkit-tiny",
              pretrained: str | None = None, noise_levels: Sequence[float] = (), seed: int = 0,
              progress: bool = True) -> dict[str, tuple[Any, Any]]:
    """``{data key: (dataset, feature store)}``: the default data plus one world per noise level.

    Worlds with another MT noise rate exist only for the embedded world: the same clips
    (hard links) and human captions, other translations. Their video features are the
    default world's; only their captions are encoded, once
    (:func:`mvkit.experiments.claims.caption_variant`, shared with ``mvkit claims``).
    """
    from mvkit.quickstart import prepare

    data = {"default": prepare(dataset, data_root, encoder=encoder, pretrained=pretrained, seed=seed,
                               progress=progress)}
    levels = [n for n in noise_levels if noise_key(n) != "default"]
    if levels and dataset != "embedded":
        raise ValueError(f"noise levels {levels}: other MT noise rates exist only for the embedded world; "
                         "set NOISE_LEVELS = [] for a real dataset")
    if levels:
        from tqdm.auto import tqdm

        from mvkit.experiments.claims import caption_variant
        from mvkit.features.encoders import create_encoder

        base_ds, base_store = data["default"]
        enc = create_encoder(encoder, pretrained, device="cpu")
        for n in tqdm(levels, desc="MT noise worlds", unit="world", disable=not progress):
            _, ds, st = caption_variant(Path(base_ds.root), base_store, enc, lambda _m: None, mt_noise=n, seed=seed)
            data[noise_key(n)] = ds, st
    return data


def runs_dir(dataset: Any, store: Any) -> Path:
    """Where the notebooks keep their runs: per dataset and feature weights, under mvkit_home()."""
    from mvkit.paths import mvkit_home

    sha = str((getattr(store, "provenance", None) or {}).get("weights_sha256") or "unknown")[:10]
    return mvkit_home() / "runs" / "notebooks" / f"{dataset.name}-{sha}"


def base_config(epochs: int, *, head: str = "mean", seed: int = 0, batch_size: int = 128, lr: float = 1e-3,
                bootstrap: int = 200, threads: int | None = 1) -> TrainConfig:
    """The config every variant starts from (variants override the training captions and loss)."""
    return TrainConfig(head=head, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, bootstrap=bootstrap,
                       threads=threads)


# ---- variants -------------------------------------------------------------------------
def _select(langs: Sequence[str], human: bool) -> dict[str, Any]:
    """Training captions: English human + MT into each target (+ their human captions if ``human``)."""
    targets = [l for l in langs if l != "en"]
    sel = ["en:human"] + [f"{l}:machine-translated" for l in targets]
    if human:
        sel += [f"{l}:human" for l in targets]
    return {"train_select": sel, "langs": None, "kinds": None, "eval_langs": list(langs)}


def main_variants(langs: Sequence[str], names: Sequence[str] = MAIN, *, out: str | Path | None = None,
                  probes: Callable[[], Any] | None = None) -> list[Variant]:
    """The main comparison (``zero_shot`` first: it is the baseline and the C2KD teacher).

    ``probes()`` returns RUDDER probe features (``partial_order`` needs it); ``out`` is the
    runs folder (``c2kd`` loads its teacher from ``<out>/zero_shot/best.safetensors``).
    """
    from mvkit.train import load_model
    from mvkit.train.objectives import C2KD, PartialOrderObjective

    unknown = [n for n in names if n not in MAIN]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {MAIN}")
    if "en" not in langs:
        raise ValueError(f"the languages must include English (the zero-shot source), got {list(langs)}")
    names = ["zero_shot"] + [n for n in names if n != "zero_shot"]      # the baseline always runs first
    tt = {**_select(langs, human=False), "loss": "infonce"}
    out_ = Path(out) if out is not None else None

    def teacher(_done: Any) -> Any:
        if out_ is None:
            raise ValueError("c2kd needs out= (the folder holding the zero_shot run)")
        return C2KD(teachers=[load_model(out_ / "zero_shot" / "best.safetensors")])

    def partial(_done: Any) -> Any:
        if probes is None:
            raise ValueError("partial_order needs probes= (RUDDER probe features; embedded world only)")
        return PartialOrderObjective(probes())

    table = {
        "zero_shot": Variant("zero_shot", {"langs": ["en"], "kinds": ["human"], "train_select": None,
                                           "eval_langs": ["en"], "loss": "infonce"}),
        "translate_train": Variant("translate_train", tt),
        "joint": Variant("joint", {**_select(langs, human=True), "loss": "infonce"}),
        "partial_order": Variant("partial_order", {**tt, "loss": "vse++"}, objective=partial),
        "c2kd": Variant("c2kd", tt, objective=teacher),
    }
    return [Variant(**{**table[n].__dict__, "label": LABELS[n]}) for n in names]


def sweep_name(method: str, noise: float | None = None, fraction: float | None = None) -> str:
    """Run name of a robust-training method at an MT noise level or training-data share.

    At the default noise and all the data, ``infonce`` *is* ``translate_train`` (same run).
    """
    at_default = (noise is None or noise_key(noise) == "default") and (fraction is None or fraction >= 1)
    if at_default:
        return "translate_train" if method == "infonce" else method
    if noise is not None and noise_key(noise) != "default":
        return f"{method}_noise{noise:g}"
    return f"{method}_data{fraction:g}"


def sweep_variants(langs: Sequence[str], *, noise_levels: Sequence[float] = (), fractions: Sequence[float] = (),
                   methods: Sequence[str] = ROBUST, epochs: int = 10) -> list[Variant]:
    """Robust training vs InfoNCE as MT noise (all data) and data share (default noise) vary.

    Runs shared with :func:`main_variants` (``translate_train``) are not repeated.
    """
    from mvkit.train.objectives import DCOTObjective, NRCCRObjective

    bad = [m for m in methods if m not in ROBUST]
    if bad:
        raise ValueError(f"unknown methods {bad}; choose from {ROBUST}")
    objective = {"infonce": None, "nrccr": lambda done: NRCCRObjective(),
                 "dcot": lambda done, e=epochs: DCOTObjective(e)}
    tt = {**_select(langs, human=False), "loss": "infonce"}
    out: dict[str, Variant] = {}
    for m in methods:
        for n in noise_levels:
            name = sweep_name(m, noise=n)
            out[name] = Variant(name, tt, data=noise_key(n), objective=objective[m],
                                label=f"{LABELS[m]}; MT noise {n:g}")
        for f in fractions:
            name = sweep_name(m, fraction=f)
            out.setdefault(name, Variant(name, tt, train_fraction=None if f >= 1 else f, objective=objective[m],
                                         label=f"{LABELS[m]}; {f:.0%} of training videos"))
    return [v for n, v in out.items() if n != "translate_train"]


def sweep_runs(records: Mapping[str, Any], *, noise_levels: Sequence[float] = (), fractions: Sequence[float] = (),
               methods: Sequence[str] = ROBUST) -> tuple[dict, dict]:
    """``({(method, noise): run}, {(method, fraction): run})`` for :func:`mvkit.analysis.compare.sweep_results`."""
    noise = {(m, n): records[sweep_name(m, noise=n)] for m in methods for n in noise_levels}
    data = {(m, f): records[sweep_name(m, fraction=f)] for m in methods for f in fractions}
    return noise, data


def variants_table(variants: Sequence[Variant]) -> Any:
    """What each run trains on and with which loss: a table to read before the results."""
    import pandas as pd

    rows = []
    for v in variants:
        o = v.overrides
        sel = o.get("train_select") or [f"{l}:{k}" for l in o.get("langs") or [] for k in o.get("kinds") or []]
        kinds = sorted({s.split(":")[1] for s in sel})
        rows.append({"variant": v.name, "what": v.label, "train languages": len({s.split(":")[0] for s in sel}),
                     "caption kinds": ", ".join(kinds), "loss": o.get("loss", "infonce") +
                     (" + objective" if v.objective is not None else ""), "data": v.data,
                     "train share": 1.0 if v.train_fraction is None else v.train_fraction})
    return pd.DataFrame(rows).set_index("variant")


# ---- running -----------------------------------------------------------------------------
def run_all(variants: Sequence[Variant], base: TrainConfig, out: str | Path, data: Mapping[str, tuple[Any, Any]],
            *, progress: bool = True) -> dict[str, RunRecord]:
    """Train (or reuse) each variant in order with a progress bar; ``{name: record}``.

    Finished runs with the same config are reused (``run_variants``); every record has
    ``run_dir`` and a ``ranks.json`` of all human test captions beside its ``run.json``.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    records: dict[str, RunRecord] = {}
    bar = tqdm(list(variants), desc="variants", unit="run", disable=not progress)
    for v in bar:
        bar.set_postfix_str(v.name)
        (rec,) = run_variants([v], base, out, data=data, log=lambda _m: None)
        records[v.name] = rec
    return records


def load_models(records: Mapping[str, Any], names: Sequence[str] | None = None, device: Any = "cpu") -> dict[str, Any]:
    """The selected (best-on-val) model of each named run, rebuilt from ``best.safetensors``."""
    from mvkit.train import load_model

    names = list(records) if names is None else list(names)
    return {n: load_model(run_dir_of(records[n]) / "best.safetensors", device=device) for n in names}


def probe_loader(world: str | Path, encoder: str, pretrained: str | None, cache: str | Path) -> Callable[[], Any]:
    """A callable giving RUDDER probe features (encoded once with the feature encoder, cached)."""
    def load() -> Any:
        from mvkit.features.encoders import create_encoder
        from mvkit.train.objectives import probe_features

        return probe_features(Path(world), create_encoder(encoder, pretrained, device="cpu"), Path(cache))
    return load
