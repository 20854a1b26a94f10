"""``fit_grounding(config) -> RunRecord``: train a grounding model, select on val, test once.

The retrieval trainer's habits (:mod:`mvkit.train.trainer`): AdamW with warm-up + cosine
(:class:`~mvkit.train.WarmupCosine`), gradient clipping (Moment-DETR's 0.1), AMP on CUDA
only, batches from a permutation seeded by (seed, epoch) and sharded over torchrun ranks
(gradients averaged by :func:`mvkit.train.ddp.average_gradients`). After every epoch the
model is scored on the **val** split (:func:`~mvkit.grounding.evaluate.selection_score`)
and the best kept (``best.safetensors``); the whole training state goes to
``last.safetensors`` atomically, so ``resume=True`` continues a killed run and ends with
the weights of an uninterrupted one. The test split is evaluated once, after the loop.
RGTR's anchors are k-means centres of the training moments (never val or test).

    mvkit train-grounding --data DIR --store DIR --model rgtr --epochs 30 --out runs/g [--resume]
"""
from __future__ import annotations

import argparse
import copy
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mvkit._setup import setup
from mvkit.grounding.anchors import kmeans_anchors
from mvkit.grounding.data import GroundingSplit, build_grounding_split
from mvkit.grounding.evaluate import (
    SELECTION_CRITERION,
    evaluate_grounding,
    selection_score,
    to_device,
)
from mvkit.grounding.models import (
    MODELS,
    RGTR,
    create_grounding_model,
    criterion_for,
    grounding_config,
)
from mvkit.train import WarmupCosine, ddp
from mvkit.train.checkpoint import load_weights, read_checkpoint, save_weights
from mvkit.train.record import RunRecord
from mvkit.train.step import checkpoint_epoch, optimizer_step, restore_selected, start_or_resume
from mvkit.train.trainer import torch_threads

# Config fields that may differ between a killed run and its resumption.
_RESUME_FREE = {"resume", "device", "threads", "out", "eval_test", "bootstrap"}


@dataclass
class GroundingConfig:
    """Everything a grounding run depends on (stored verbatim in the run record).

    data / store: dataset folder or manifest and clip store (:mod:`mvkit.grounding.features`).
    model: a preset of :data:`mvkit.grounding.models.MODELS` (``detr``, ``rgtr``, ``rgtr_noiou``)
    with ``model_overrides`` on top. langs / kinds / train_select: the training queries, as
    for retrieval (default: English human queries); eval_langs / eval_kinds: val and test
    queries (default: the training languages, human queries). threads: torch CPU threads
    (1 by default: these small models are several times faster on one thread than on two
    on a busy 2-core CPU; ``None`` keeps torch's default).
    """

    data: str = ""
    store: str = ""
    out: str | None = None
    model: str = "rgtr"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    langs: list[str] | None = field(default_factory=lambda: ["en"])
    kinds: list[str] | None = field(default_factory=lambda: ["human"])
    train_select: list[str] | None = None
    eval_langs: list[str] | None = None
    eval_kinds: list[str] | None = field(default_factory=lambda: ["human"])
    epochs: int = 30
    batch_size: int = 32
    lr: float = 3e-4
    weight_decay: float = 1e-4
    warmup: float = 0.05
    grad_clip: float = 0.1
    seed: int = 0
    device: str | None = None
    threads: int | None = 1
    amp: bool = True
    bootstrap: int = 1000
    eval_test: bool = True
    resume: bool = False

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown grounding model {self.model!r}; known: {sorted(MODELS)}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"need epochs >= 1 and batch_size >= 1, got {self.epochs}, {self.batch_size}")


def _open(cfg: GroundingConfig, dataset: Any, store: Any) -> tuple[Any, Any]:
    if dataset is None:
        from mvkit.data import load
        dataset = load(cfg.data)
    if store is None:
        from mvkit.features.store import open_store
        store = open_store(cfg.store)
    return dataset, store


def _train_split(cfg: GroundingConfig, dataset: Any, store: Any) -> GroundingSplit:
    if not cfg.train_select:
        return build_grounding_split(dataset, store, "train", langs=cfg.langs, kinds=cfg.kinds)
    pairs = set()
    for s in cfg.train_select:
        if ":" not in s:
            raise ValueError(f"train_select entries are 'lang:kind', got {s!r}")
        pairs.add(tuple(s.split(":", 1)))
    split = build_grounding_split(dataset, store, "train", langs=sorted({l for l, _ in pairs}),
                                  kinds=sorted({k for _, k in pairs}))
    return split.select([i for i, q in enumerate(split.queries) if (q.lang, q.kind) in pairs])


def training_moments(split: GroundingSplit) -> np.ndarray:
    """Every training window as normalised (centre, width) ``[M, 2]`` (what RGTR's anchors cluster)."""
    return torch.cat([split.gt_cw_row(i) for i in range(len(split.queries))]).numpy()


def _param_groups(model: torch.nn.Module, cfg: GroundingConfig) -> list[dict[str, Any]]:
    """AdamW groups: no weight decay on biases, norms, embeddings and anchors."""
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        plain = p.ndim >= 2 and not any(k in n for k in ("anchor", "query_pos", "content", "missing"))
        (decay if plain else no_decay).append(p)
    return [{"params": decay, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "lr": cfg.lr, "weight_decay": 0.0}]


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> list[torch.Tensor]:
    """This rank's batches of query rows for one epoch (a permutation seeded by seed and epoch)."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    perm = torch.randperm(n, generator=g)
    per = batch_size * world
    out = []
    for s in range(0, n, per):
        chunk = perm[s:s + per]
        mine = chunk[rank::world]
        if len(mine):
            out.append(mine)
    return out


def fit_grounding(config: GroundingConfig, *, dataset: Any = None, store: Any = None,
                  callbacks: Sequence[Callable[[int, dict[str, Any]], None]] = ()) -> RunRecord:
    """Train, select on val, evaluate on test once; ``run.json`` and checkpoints under ``config.out``.

    callbacks: ``cb(epoch, trainer_state)`` after each epoch's checkpoint (a test kills a run
    by raising from one).
    """
    with torch_threads(config.threads):
        return _fit(config, dataset, store, callbacks)


def _fit(cfg: GroundingConfig, dataset: Any, store: Any, callbacks: Sequence[Callable]) -> RunRecord:
    t_start = time.perf_counter()
    device = setup(cfg.seed, cfg.device)
    rank, world = ddp.init_from_env(device)
    dataset, store = _open(cfg, dataset, store)
    t0 = time.perf_counter()
    train = _train_split(cfg, dataset, store)
    eval_langs = cfg.eval_langs or sorted({q.lang for q in train.queries})
    val = build_grounding_split(dataset, store, "val", langs=eval_langs, kinds=cfg.eval_kinds)
    load_seconds = time.perf_counter() - t0

    mcfg = grounding_config(cfg.model, **cfg.model_overrides)
    anchors = None
    if issubclass(MODELS[cfg.model][0], RGTR):
        anchors = kmeans_anchors(training_moments(train), int(mcfg.get("n_queries", 10)), seed=cfg.seed)
    model = create_grounding_model(mcfg, video_dims=dict(store.dims), text_dim=int(train.text.shape[1]),
                                   clip_rate=train.clip_rate, anchors=anchors)
    model.fit_input_stats(train.feats, train.masks, train.text)    # training-split statistics only
    model = model.to(device)
    criterion = criterion_for(model.config).to(device)
    optimizer = torch.optim.AdamW(_param_groups(model, cfg))
    steps_per_epoch = len(epoch_batches(len(train.queries), cfg.batch_size, cfg.seed, 0, rank, world))
    total = steps_per_epoch * cfg.epochs
    scheduler = WarmupCosine(optimizer, total, round(cfg.warmup * total))
    use_amp = bool(cfg.amp and device.type == "cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    params = [p for g in optimizer.param_groups for p in g["params"]]

    out = Path(cfg.out) if cfg.out else None
    last_path, best_path = (out / "last.safetensors", out / "best.safetensors") if out else (None, None)
    cfg_dict = asdict(cfg)
    state = start_or_resume(cfg_dict, last_path, cfg.resume, _RESUME_FREE, model=model, optimizer=optimizer,
                            scheduler=scheduler, scaler=scaler)
    best_state = None

    match_seconds = 0.0
    for epoch in range(state["epoch"] + 1, cfg.epochs):
        model.train()
        t_ep, loss_sum, n = time.perf_counter(), 0.0, 0
        m0 = criterion.matcher.seconds
        for rows in epoch_batches(len(train.queries), cfg.batch_size, cfg.seed, epoch, rank, world):
            batch = to_device(train.batch(rows), device)
            with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                loss, _ = criterion(model(batch), batch["targets"])
            try:
                optimizer_step(loss, optimizer, scaler, scheduler, params, cfg.grad_clip)
            except FloatingPointError as e:
                raise FloatingPointError(f"epoch {epoch} step {state['step']}: {e}") from None
            loss_sum, n = loss_sum + float(loss.detach()), n + 1
            state["step"] += 1
        train_seconds = time.perf_counter() - t_ep
        epoch_match = criterion.matcher.seconds - m0
        match_seconds += epoch_match

        t_ev = time.perf_counter()
        val_res = evaluate_grounding(model, val, eval_langs, bootstrap=0, device=device)
        score = selection_score(val_res)
        eval_seconds = time.perf_counter() - t_ev
        if score > state["best_score"]:
            state["best_score"], state["best_epoch"] = score, epoch
            if best_path is not None and rank == 0:
                save_weights(best_path, model, {"model_config": model.config, "epoch": epoch, "train_config": cfg_dict})
            best_state = copy.deepcopy(model.state_dict())
        state["history"].append({"epoch": epoch, "loss": loss_sum / max(n, 1), "val_score": score,
                                 "val": {lang: r.metrics for lang, r in val_res.items()},
                                 "train_seconds": train_seconds, "match_seconds": epoch_match,
                                 "eval_seconds": eval_seconds, "lr": optimizer.param_groups[0]["lr"]})
        checkpoint_epoch(last_path, rank, epoch, state, model=model, optimizer=optimizer, scheduler=scheduler,
                         scaler=scaler, callbacks=callbacks)

    # ---- selection is final: only now is the test split touched ----------------------------
    restore_selected(model, best_state, best_path)
    t_ev = time.perf_counter()
    val_final = evaluate_grounding(model, val, eval_langs, bootstrap=cfg.bootstrap, seed=cfg.seed, device=device)
    test_res, test_info = {}, {}
    if cfg.eval_test:
        test = build_grounding_split(dataset, store, "test", langs=eval_langs, kinds=cfg.eval_kinds)
        test_res = evaluate_grounding(model, test, eval_langs, bootstrap=cfg.bootstrap, seed=cfg.seed, device=device)
        test_info = {"videos": len(test.video_ids), "queries": len(test.queries), "skipped": len(test.skipped)}
    hist = state["history"]
    train_total = sum(h["train_seconds"] for h in hist)
    record = RunRecord(
        config=cfg_dict,
        protocol={"task": "temporal sentence grounding", "eval_split": "test" if cfg.eval_test else "val",
                  "selection_split": "val", "selection_criterion": SELECTION_CRITERION,
                  "test_evaluated_after_selection": True, "eval_langs": list(eval_langs),
                  "eval_kinds": cfg.eval_kinds, "ranking": "descending score, stable; no NMS",
                  "ci": {"level": 0.95, "method": "bootstrap over queries", "n": cfg.bootstrap}},
        selection={"split": "val", "criterion": SELECTION_CRITERION, "selected_epoch": state["best_epoch"],
                   "best_score": state["best_score"], "history": hist},
        results={lang: r.to_dict() for lang, r in (test_res if cfg.eval_test else val_final).items()},
        val_results={lang: r.to_dict() for lang, r in val_final.items()},
        objective={"loss": "Moment-DETR set loss" + (" + IoU-aware BCE" if criterion.iou_weight else ""),
                   "matching": "Hungarian" + (f", region-constrained (k={criterion.matcher.region_k})"
                                              if criterion.matcher.region_k else "")},
        model_config={**{k: v for k, v in model.config.items()}, "n_parameters": sum(p.numel() for p in model.parameters()),
                      "anchors_init": anchors.tolist() if anchors is not None else None},
        data={"train": {"videos": len(train.video_ids), "queries": len(train.queries), "skipped": len(train.skipped)},
              "val": {"videos": len(val.video_ids), "queries": len(val.queries), "skipped": len(val.skipped)},
              "test": test_info, "store_provenance": dict(getattr(store, "provenance", {}) or {})},
        timings={"load_seconds": load_seconds, "train_seconds": train_total,
                 "epoch_train_seconds": [h["train_seconds"] for h in hist],
                 "match_seconds": sum(h["match_seconds"] for h in hist),
                 "match_share": sum(h["match_seconds"] for h in hist) / max(train_total, 1e-9),
                 "final_eval_seconds": time.perf_counter() - t_ev,
                 "total_seconds": time.perf_counter() - t_start, "steps_per_epoch": steps_per_epoch},
        environment={"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
                     "world_size": world, "amp": use_amp, "threads": torch.get_num_threads()},
        paths={"best": str(best_path) if best_path else "", "last": str(last_path) if last_path else ""},
    )
    if out is not None and rank == 0:
        record.write(out / "run.json")
    record.model = model  # type: ignore[attr-defined]  # for notebooks; not serialised
    record.test_results = test_res  # type: ignore[attr-defined]  # GroundingResults with per-query values
    return record


def load_grounding_model(path: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a trained grounding model from ``best.safetensors`` (config in its metadata)."""
    _, meta = read_checkpoint(path)
    m = meta.get("meta", {})
    if "model_config" not in m:
        raise ValueError(f"{path}: no grounding model config in the checkpoint metadata")
    cfg = dict(m["model_config"])
    dims, text_dim, rate = cfg.pop("video_dims"), cfg.pop("text_dim"), cfg.pop("clip_rate")
    model = create_grounding_model(cfg, video_dims=dims, text_dim=text_dim, clip_rate=rate)
    load_weights(path, model)
    return model.to(device).eval()


def main(argv: list[str] | None = None) -> int:
    """``mvkit train-grounding``: one grounding run; prints the test metrics per language."""
    ap = argparse.ArgumentParser(prog="mvkit train-grounding", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="dataset folder or manifest")
    ap.add_argument("--store", required=True, help="clip store (mvkit extract-clips)")
    ap.add_argument("--model", default="rgtr", choices=sorted(MODELS))
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--langs", default="en", help="training query languages (comma-separated)")
    ap.add_argument("--kinds", default="human", help="training query kinds (comma-separated)")
    ap.add_argument("--train-select", default=None, help="explicit lang:kind pairs, e.g. en:human,de:machine-translated")
    ap.add_argument("--eval-langs", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-test", action="store_true", help="report val only")
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args(argv)
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()] if s else None
    cfg = GroundingConfig(data=a.data, store=a.store, out=a.out, model=a.model, epochs=a.epochs,
                          batch_size=a.batch_size, lr=a.lr, langs=split(a.langs), kinds=split(a.kinds),
                          train_select=split(a.train_select), eval_langs=split(a.eval_langs), seed=a.seed,
                          device=a.device, threads=a.threads, eval_test=not a.no_test, resume=a.resume)
    rec = fit_grounding(cfg)
    print(f"{a.out}: {a.model}, selected epoch {rec.selection['selected_epoch']} on val; "
          f"{rec.protocol['eval_split']} split:")
    for lang, r in rec.results.items():
        m = r["metrics"]
        print(f"  {lang}: n={r['n']} R1@0.5 {m['R1@0.5']:.1f}  R1@0.7 {m['R1@0.7']:.1f}  "
              f"mIoU {m['mIoU']:.1f}  mAP {m['mAP']:.1f}")
    return 0
