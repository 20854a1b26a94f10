"""The cross-lingual ablation grid of notebook 03 (whose runs notebooks 04 and 05 reuse).

Variants (one :class:`~mvkit.experiments.ablations.Variant` each, fused object + activity
head, selection on val, per-query test ranks saved by ``run_variants``):

* ``zero_shot`` -- English human captions only, frozen English text tower: the baseline
  (every other language near chance with an English-only tower: the phenomenon);
* ``zero_shot_ml`` -- the same with the frozen multilingual tower (mvkit-tiny-ml, or XLM-R /
  NLLB on real data): multilingual zero-shot;
* ``translate_test`` -- the ``zero_shot`` model queried with the machine translations of the
  queries into English (no training of its own);
* ``translate_train`` -- English + machine translations into every target language, with a
  trainable text side (the fast ``bag`` student by default);
* ``joint`` -- translate-train + the (scarce) human training captions of every language;
* ``partial_order`` -- translate-train data, hinge + RUDDER's partial-order loss over probes;
* ``c2kd`` -- translate-train + distillation from the frozen ``zero_shot`` model (C2KD);
* ``dual_path`` -- MKTVR's dual path: English rows through the frozen English tower, the
  others through the multilingual tower, fine-tuned (L = L_E + L_M);
* noise-robust training (``nrccr``, ``dcot``) against plain InfoNCE translate-train as the
  machine-translation noise rate of the world and the share of training videos vary.

Runs live under ``NotebookData.runs_dir("crosslingual")`` so a second notebook (or a second
run of the same notebook) reuses finished runs with the same config.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mvkit.experiments.ablations import Variant, run_dir_of, run_variants
from mvkit.train import TrainConfig

MAIN = ("zero_shot", "zero_shot_ml", "translate_test", "translate_train", "joint", "partial_order", "c2kd",
        "dual_path")
ROBUST = ("infonce", "nrccr", "dcot")
#: variants ranked with another variant's model instead of trained (name -> that variant)
DERIVED = {"translate_test": "zero_shot"}
LABELS = {
    "zero_shot": "zero-shot: English captions only, frozen English text tower",
    "zero_shot_ml": "zero-shot: English captions only, frozen multilingual text tower",
    "translate_test": "translate-test: the zero-shot model, queries machine-translated into English",
    "translate_train": "translate-train: English + MT into the target languages, trainable text side",
    "joint": "joint multilingual: translate-train + human captions of every language",
    "partial_order": "translate-train data, hinge + partial-order loss (RUDDER probes)",
    "c2kd": "translate-train + C2KD distillation from the frozen zero-shot model",
    "dual_path": "MKTVR dual path: English via the frozen English tower, others via the multilingual tower",
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


def base_config(epochs: int, *, head: str = "fusion", text_encoder: str = "bag", seed: int = 0,
                batch_size: int = 128, lr: float = 1e-3, bootstrap: int = 200, threads: int | None = 1) -> TrainConfig:
    """The config every variant starts from (variants override the captions, loss and text side)."""
    return TrainConfig(head=head, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, bootstrap=bootstrap,
                       threads=threads, text_encoder=text_encoder)


# ---- variants -------------------------------------------------------------------------
def _select(langs: Sequence[str], human: bool) -> dict[str, Any]:
    """Training captions: English human + MT into each target (+ their human captions if ``human``)."""
    targets = [lang for lang in langs if lang != "en"]
    sel = ["en:human"] + [f"{lang}:machine-translated" for lang in targets]
    if human:
        sel += [f"{lang}:human" for lang in targets]
    return {"train_select": sel, "langs": None, "kinds": None, "eval_langs": list(langs)}


ENGLISH_ONLY = {"langs": ["en"], "kinds": ["human"], "train_select": None, "eval_langs": ["en"], "loss": "infonce",
                "text_encoder": "frozen"}


def main_variants(langs: Sequence[str], names: Sequence[str] = MAIN, *, out: str | Path | None = None,
                  probes: Callable[[], Any] | None = None, ml_text_model: str = "mvkit-tiny-ml",
                  ml_text_pretrained: str | None = None) -> list[Variant]:
    """The main comparison (``zero_shot`` first: it is the baseline and the C2KD teacher).

    ``probes()`` returns RUDDER probes (``partial_order``; :func:`probe_loader`); ``out`` is the
    runs folder (``c2kd`` loads its teacher from ``<out>/zero_shot/best.safetensors``);
    ``zero_shot_ml`` trains on the data key ``"ml"`` (the multilingual tower's store) and
    ``dual_path`` fine-tunes ``ml_text_model`` for its non-English rows.
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
            raise ValueError("partial_order needs probes= (RUDDER probe captions; embedded world only)")
        return PartialOrderObjective(probes())

    dual = {**tt, "head": "fusion_dual", "text_encoder": "tower",
            "text_encoder_kwargs": {"text_model": ml_text_model, "text_pretrained": ml_text_pretrained}}
    table = {
        "zero_shot": Variant("zero_shot", dict(ENGLISH_ONLY)),
        "zero_shot_ml": Variant("zero_shot_ml", dict(ENGLISH_ONLY), data="ml"),
        "translate_test": Variant("translate_test", {}),
        "translate_train": Variant("translate_train", tt),
        "joint": Variant("joint", {**_select(langs, human=True), "loss": "infonce"}),
        "partial_order": Variant("partial_order", {**tt, "loss": "vse++"}, objective=partial),
        "c2kd": Variant("c2kd", tt, objective=teacher),
        "dual_path": Variant("dual_path", dual),
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
                   methods: Sequence[str] = ROBUST, epochs: int = 10, judge: Any = "store") -> list[Variant]:
    """Robust training vs InfoNCE as MT noise (all data) and data share (default noise) vary.

    ``judge``: DCOT's cross-lingual view (:class:`~mvkit.train.objectives.DCOTObjective`;
    the notebooks pass the multilingual encoder, the embedded analogue of the pretrained
    multilingual model DCOT reads it from). Runs shared with :func:`main_variants`
    (``translate_train``) are not repeated.
    """
    from mvkit.train.objectives import DCOTObjective, NRCCRObjective

    bad = [m for m in methods if m not in ROBUST]
    if bad:
        raise ValueError(f"unknown methods {bad}; choose from {ROBUST}")
    objective = {"infonce": None, "nrccr": lambda done: NRCCRObjective(),
                 "dcot": lambda done: DCOTObjective(epochs, judge=judge)}
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


def variants_table(variants: Sequence[Variant], base: TrainConfig | None = None) -> Any:
    """What each run trains on, with which loss and which text side: a table to read before the results."""
    import pandas as pd

    rows = []
    for v in variants:
        o = v.overrides
        if v.name in DERIVED:
            rows.append({"variant": v.name, "what": v.label, "train languages": 0, "caption kinds": "",
                         "loss": f"(the {DERIVED[v.name]} model)", "text side": "frozen", "data": v.data,
                         "train share": 1.0})
            continue
        sel = o.get("train_select") or [f"{lang}:{k}" for lang in o.get("langs") or [] for k in o.get("kinds") or []]
        kinds = sorted({s.split(":")[1] for s in sel})
        text = o.get("text_encoder", base.text_encoder if base is not None else "bag")
        model = (o.get("text_encoder_kwargs") or {}).get("text_model")
        rows.append({"variant": v.name, "what": v.label, "train languages": len({s.split(":")[0] for s in sel}),
                     "caption kinds": ", ".join(kinds), "loss": o.get("loss", "infonce") +
                     (" + objective" if v.objective is not None else ""),
                     "text side": text + (f" ({model})" if model else ""), "data": v.data,
                     "train share": 1.0 if v.train_fraction is None else v.train_fraction})
    return pd.DataFrame(rows).set_index("variant")


# ---- running -----------------------------------------------------------------------------
def run_all(variants: Sequence[Variant], base: TrainConfig, out: str | Path, data: Mapping[str, tuple],
            *, progress: bool = True) -> dict[str, Any]:
    """Train (or reuse) each variant in order with a progress bar; ``{name: record or run dir}``.

    ``data`` maps a key to ``(dataset, store)`` or ``(dataset, store, encoder)``. Finished runs
    with the same config are reused (``run_variants``); every run has a ``ranks.json`` of all
    human test captions beside its ``run.json``. Derived variants (``translate_test``) rank the
    test queries' English translations with their source variant's model and give a run folder.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    records: dict[str, Any] = {}
    bar = tqdm(list(variants), desc="variants", unit="run", disable=not progress)
    for v in bar:
        bar.set_postfix_str(v.name)
        if v.name in DERIVED:
            records[v.name] = _derived(v.name, records, out, data)
            continue
        (rec,) = run_variants([v], base, out, data=data, log=lambda _m: None)
        records[v.name] = rec
    return records


def _derived(name: str, records: Mapping[str, Any], out: Path, data: Mapping[str, tuple]) -> Path:
    """``translate_test``: ranks of the source variant's model on the translated queries (cached
    beside the model, remade when the model changed)."""
    from mvkit.analysis.run_ranks import RANKS_FILE, translate_test_ranks, write_ranks
    from mvkit.io import atomic_write_json, read_json
    from mvkit.train import load_model

    src = records.get(DERIVED[name])
    if src is None:
        raise ValueError(f"{name} needs the {DERIVED[name]!r} variant to run first")
    best = run_dir_of(src) / "best.safetensors"
    folder = out / name
    stamp = {"model": str(best), "mtime_ns": best.stat().st_mtime_ns}
    if not ((folder / RANKS_FILE).exists() and (folder / "source.json").exists()
            and read_json(folder / "source.json") == stamp):
        dataset, store = data["default"][:2]
        folder.mkdir(parents=True, exist_ok=True)
        write_ranks(folder / RANKS_FILE, translate_test_ranks(load_model(best), dataset, store))
        atomic_write_json(folder / "source.json", stamp)
    return folder


def load_models(records: Mapping[str, Any], names: Sequence[str] | None = None, device: Any = "cpu",
                encoder: Any = None) -> dict[str, Any]:
    """The selected (best-on-val) model of each named run, rebuilt from ``best.safetensors``
    (``encoder``: the feature encoder a trainable text side starts from; derived runs skipped)."""
    from mvkit.train import load_model

    names = [n for n in (list(records) if names is None else list(names)) if n not in DERIVED]
    return {n: load_model(run_dir_of(records[n]) / "best.safetensors", device=device, encoder=encoder)
            for n in names}


def probe_loader(world: str | Path, langs: Sequence[str] | None = None, text_encoder: str = "bag",
                 encoder: Any = None, cache: str | Path | None = None) -> Callable[[], Any]:
    """A callable giving the world's RUDDER probes in ``langs``: captions only for a trainable text
    side (it tokenises them), with their features from ``encoder`` (cached in ``cache``) for
    ``text_encoder="frozen"``."""
    def load() -> Any:
        from mvkit.train.objectives import probe_features, world_probes

        if text_encoder != "frozen":
            return world_probes(Path(world), langs)
        if encoder is None:
            raise ValueError("a frozen text side needs the probes' features: pass the feature encoder")
        return probe_features(Path(world), encoder, Path(cache or Path(world) / "rudder_probes"), langs or ("en",))
    return load
