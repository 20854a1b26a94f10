"""Run named training variants once, keep per-query test ranks, compare them with paired statistics.

A :class:`Variant` is a name plus overrides of a base :class:`~mvkit.train.TrainConfig`
(and optionally an objective, a data key and a train-video fraction). :func:`run_variants`
trains each under ``<out>/<name>/`` (``run.json`` from the trainer) and then ranks *every*
human test caption of every language against the test videos, writing ``ranks.json``;
a variant with both files and the same config is skipped, a killed one resumes from its
checkpoint. :func:`compare` and :func:`per_language_compare` then test differences on the
same queries (paired bootstrap CI, paired permutation p-value: ``mvkit.metrics.paired_test``),
and :func:`interaction_test` tests a difference of differences (does A lose less than B
when a condition changes?).
"""
from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mvkit.analysis.run_ranks import (
    RANKS_FILE,
    Runs,
    load_ranks,
    query_ranks,
    run_dir_of,
    run_name,
    selected_ranks,
    write_ranks,
)
from mvkit.data.records import RetrievalDataset
from mvkit.io import read_json
from mvkit.train import RunRecord, TrainConfig, fit
from mvkit.train.objectives import Objective

RUN_FILE = "run.json"
# config fields that do not change what a finished run computed
_IGNORED = {"resume", "device", "out", "threads", "data", "store"}


@dataclass
class Variant:
    """One training run of an ablation.

    overrides: TrainConfig fields (e.g. ``{"loss": "vse++"}``, ``{"head": "fusion"}``);
    data: key into the ``data`` mapping given to :func:`run_variants` (several worlds);
    train_fraction: keep this seeded share of the training videos (scarce-data studies);
    objective: ``f(done: dict[name, RunRecord]) -> Objective`` for losses beyond
    ``loss(sim, pos)``; it sees the variants finished before it (e.g. a teacher);
    label: a short description for tables.
    """

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    data: str = "default"
    train_fraction: float | None = None
    objective: Callable[[dict[str, RunRecord]], Objective] | None = None
    label: str = ""


def subsample_train(dataset: RetrievalDataset, fraction: float, seed: int = 0) -> RetrievalDataset:
    """The dataset with only a seeded ``fraction`` of its training videos (val/test untouched)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"train_fraction must be in (0, 1], got {fraction}")
    train = sorted(v.video_id for v in dataset.videos if v.split == "train")
    k = max(2, round(fraction * len(train)))
    keep_train = set(np.asarray(train)[np.random.default_rng([seed, 7]).permutation(len(train))[:k]].tolist())
    videos = [v for v in dataset.videos if v.split != "train" or v.video_id in keep_train]
    keep = {v.video_id for v in videos}
    return RetrievalDataset(dataset.name, dataset.root, videos, [c for c in dataset.captions if c.video_id in keep],
                            [p for p in dataset.partial_labels if p.video_id in keep],
                            {**dataset.meta, "train_fraction": fraction}, source=dataset.source)


def _comparable(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cfg.items() if k not in _IGNORED}


def variant_config(v: Variant, base: TrainConfig, out: Path) -> TrainConfig:
    """The TrainConfig of a variant: base + overrides, its own output directory, resumable."""
    return replace(base, **v.overrides, out=str(out / v.name), resume=True)


def run_variants(variants: Sequence[Variant], base_config: TrainConfig, out: str | Path | None = None, *,
                 data: Mapping[str, tuple[RetrievalDataset, Any]] | None = None, seed_offset: int = 0,
                 log: Callable[[str], None] = print) -> list[RunRecord]:
    """Train each variant (or reuse its finished record) and write its per-query test ranks.

    out: parent of the variants' run directories (default ``base_config.out``).
    data: ``{key: (dataset, store)}`` or ``{key: (dataset, store, encoder)}`` already opened (a
    variant names its key; the encoder is what a trainable text side starts from); default
    ``{"default": ...}`` opened from ``base_config.data`` / ``base_config.store``. A variant
    whose ``run.json`` and ``ranks.json`` exist with the same config is skipped; one whose
    config changed is retrained from scratch; a killed one resumes from ``last.safetensors``.
    Returns the records in order (each with ``.run_dir``; freshly trained ones with ``.model``).
    """
    if out is None and not base_config.out:
        raise ValueError("run_variants: give out= or base_config.out (where the runs go)")
    out = Path(out if out is not None else base_config.out)
    if data is None:
        from mvkit.data import load
        from mvkit.features.store import open_store
        data = {"default": (load(base_config.data), open_store(base_config.store))}
    done: dict[str, RunRecord] = {}
    records = []
    for v in variants:
        cfg = variant_config(v, base_config, out)
        cfg = replace(cfg, seed=cfg.seed + seed_offset)
        run_dir = Path(cfg.out)
        if v.data not in data:
            raise ValueError(f"variant {v.name!r}: unknown data key {v.data!r}; have {sorted(data)}")
        dataset, store, *rest = data[v.data]
        encoder = rest[0] if rest else None
        if v.train_fraction is not None:
            dataset = subsample_train(dataset, v.train_fraction, cfg.seed)
        rec = None
        if (run_dir / RUN_FILE).exists() and (run_dir / RANKS_FILE).exists():
            rec = RunRecord.read(run_dir / RUN_FILE)
            was = (rec.data.get("store_provenance") or {}).get("weights_sha256")
            now = (getattr(store, "provenance", None) or {}).get("weights_sha256")
            if _comparable(rec.config) != _comparable(asdict(cfg)) or was != now:
                log(f"[claims] {v.name}: config or feature weights changed, retraining")
                shutil.rmtree(run_dir)
                rec = None
            else:
                log(f"[claims] {v.name}: finished earlier, reusing {run_dir / RUN_FILE}")
        if rec is None:
            if (run_dir / "last.safetensors").exists() and not (run_dir / RANKS_FILE).exists():
                saved = read_json(run_dir / RUN_FILE)["config"] if (run_dir / RUN_FILE).exists() else None
                if saved is not None and _comparable(saved) != _comparable(asdict(cfg)):
                    shutil.rmtree(run_dir)
            objective = v.objective(done) if v.objective is not None else None
            rec = fit(cfg, objective=objective, dataset=dataset, store=store, encoder=encoder)
            write_ranks(run_dir / RANKS_FILE, query_ranks(rec.model, dataset, store))  # type: ignore[attr-defined]
            log(f"[claims] {v.name}: epoch {rec.selection['selected_epoch']} selected on val, "
                f"{rec.timings['total_seconds']:.1f}s")
        rec.run_dir = run_dir  # type: ignore[attr-defined]
        done[v.name] = rec
        records.append(rec)
    return records


def paired(a: Runs, b: Runs, *, metric: str = "R1", keep: Iterable[str] | None = None,
           langs: Iterable[str] | None = None, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Paired test of A vs B on the same test queries (optionally a subset): a dict row.

    A and B may be lists of runs, one per training seed: query q of seed k is paired with
    query q of seed k (the pooled sample treats seed x query as the unit).
    """
    from mvkit.metrics import paired_test

    keep = None if keep is None else set(keep)
    ids_a, ra = selected_ranks(a, keep, langs)
    ids_b, rb = selected_ranks(b, keep, langs)
    if ids_a != ids_b:
        raise ValueError(f"{run_name(a)} and {run_name(b)} ranked different queries; cannot pair them")
    if not ids_a:
        raise ValueError(f"no queries selected for {run_name(a)} vs {run_name(b)}")
    t = paired_test(ra, rb, metric, n_boot=n_boot, n_perm=n_boot, seed=seed)
    return {"A": t.a, "B": t.b, "diff": t.difference, "low": t.low, "high": t.high, "p": t.p_value,
            "n_queries": len(ids_a), "metric": metric}


def compare(records: Sequence[RunRecord | str | Path], baseline: RunRecord | str | Path, *,
            metric: str = "R1", keep: Iterable[str] | None = None, langs: Iterable[str] | None = None,
            n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per record: its metric vs the baseline's on the same queries, diff [95% CI], p."""
    keep = None if keep is None else list(keep)
    langs = None if langs is None else list(langs)
    rows = []
    for r in records:
        row = paired(r, baseline, metric=metric, keep=keep, langs=langs, n_boot=n_boot, seed=seed)
        rows.append({"variant": run_name(r), "baseline": run_name(baseline), **row})
    return pd.DataFrame(rows)


def per_language_compare(a: RunRecord | str | Path, b: RunRecord | str | Path, langs: Sequence[str] | None = None,
                         *, metric: str = "R1", n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """A vs B per test language (paired on that language's queries), one row per language."""
    first = a[0] if isinstance(a, (list, tuple)) else a
    langs = list(langs) if langs is not None else sorted(set(load_ranks(run_dir_of(first)).langs))
    rows = [{"language": l, **paired(a, b, metric=metric, langs=[l], n_boot=n_boot, seed=seed)} for l in langs]
    return pd.DataFrame(rows)


def _hits(r: np.ndarray, metric: str) -> np.ndarray:
    if metric not in ("R1", "R5", "R10"):
        raise ValueError(f"interaction_test needs a per-query mean metric (R1, R5, R10), got {metric!r}")
    return 100.0 * (r <= int(metric[1:]))


def interaction_test(a_low: Any, a_high: Any, b_low: Any, b_high: Any, *, metric: str = "R1", keep: Any=None, langs: Any=None,
                     n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Does A lose less than B from condition 'low' to 'high'? Paired over the same queries.

    Statistic: (A_high - A_low) - (B_high - B_low) of a recall (a mean of per-query hits, so
    the contrast is the mean of per-query contrasts c_q). CI: bootstrap over queries;
    p-value: two-sided sign-flip permutation of c_q (exchangeable under H0 of no interaction).
    Returns A = A_high - A_low, B = B_high - B_low, diff = A - B.
    """
    keep = None if keep is None else set(keep)
    sel = [selected_ranks(x, keep, langs) for x in (a_low, a_high, b_low, b_high)]
    if any(s[0] != sel[0][0] for s in sel):
        raise ValueError("interaction_test: the four runs ranked different queries")
    h = [_hits(s[1], metric) for s in sel]
    c = (h[1] - h[0]) - (h[3] - h[2])
    rng = np.random.default_rng(seed)
    q = len(c)
    boots = c[rng.integers(0, q, size=(n_boot, q))].mean(axis=1)
    low, high = np.quantile(boots, [0.025, 0.975])
    obs = c.mean()
    flips = np.where(rng.random((n_boot, q)) < 0.5, -1.0, 1.0)
    hits = int((np.abs((flips * c).mean(axis=1)) >= abs(obs) - 1e-12).sum())
    return {"A": float((h[1] - h[0]).mean()), "B": float((h[3] - h[2]).mean()), "diff": float(obs),
            "low": float(low), "high": float(high), "p": (1 + hits) / (1 + n_boot), "n_queries": q,
            "metric": f"d{metric}"}
