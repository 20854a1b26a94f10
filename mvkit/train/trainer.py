"""``fit(config) -> RunRecord``: train a retrieval model on cached features, select on val, test once.

The loop: AdamW with a warm-up + cosine schedule, gradient clipping, AMP on CUDA only;
batches from :class:`UniqueVideoBatchSampler`; the loss from an :class:`Objective` over the
global batch (embeddings all-gathered under torchrun). After every epoch the model is
scored on the **val** split and the best one (by recall sum) kept; the full training state
is checkpointed atomically so ``resume=True`` continues a killed run exactly. The test
split is evaluated once, after the loop, with the selected weights — never during it.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from mvkit._setup import setup
from mvkit.io import ensure_writable_dir
from mvkit.models.factory import create_model, model_config, model_streams
from mvkit.models.fusion import RetrievalModel
from mvkit.train import ddp
from mvkit.train.checkpoint import (
    load_training_state,
    load_weights,
    save_training_state,
    save_weights,
)
from mvkit.train.data import SplitData, build_split, check_missing_videos, missing_videos
from mvkit.train.evaluate import SELECTION_CRITERION, evaluate_split, selection_score
from mvkit.train.objectives import Objective, StepInput, TrainContext, default_objective
from mvkit.train.record import RunRecord
from mvkit.train.sampler import UniqueVideoBatchSampler

# Config fields that may differ between a killed run and its resumption.
_RESUME_FREE = {"resume", "device", "threads", "out", "eval_test", "bootstrap", "allow_missing_videos"}


@dataclass
class TrainConfig:
    """Everything a run depends on (stored verbatim in the run record).

    data / store: dataset directory or manifest (``mvkit.data.load``) and feature store
    (``mvkit.features.store.open_store``). head: a model config name (``mean``,
    ``seqtransf``, ``dcm``, ``dcm_dual``, ``rivrl``, ``fusion``, ...) or JSON path;
    model_overrides merge into it. langs / kinds: training captions (default English,
    human + machine-translated; back-translations only when asked for; None = all);
    train_select: optional explicit ``"lang:kind"`` pairs that replace langs x kinds (e.g.
    ``["en:human", "de:machine-translated"]``). eval_langs / eval_kinds: validation and
    test queries (default: the training languages, human captions only). text_mode: ``frozen`` (cached features +
    trainable projection) or ``finetune`` (tokens through ``encoder.text_module()``, lr
    ``text_lr``). ml_store: a second store whose text features feed the multilingual tower
    of the dual text path. warmup: fraction of all steps spent warming up. threads: torch CPU
    threads (None: torch's default; small heads on a busy CPU are fastest with 1).
    standardize: centre and scale the frozen input features per dimension with statistics of
    the training split (stored in the model), which matters for anisotropic encoders.
    allow_missing_videos: evaluate on the test videos the store has when some have no
    features (recorded in the run record's protocol); by default that is an error.
    """

    data: str = ""
    store: str = ""
    out: str | None = None
    head: str = "mean"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    loss: str = "infonce"
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    langs: list[str] | None = field(default_factory=lambda: ["en"])
    kinds: list[str] | None = field(default_factory=lambda: ["human", "machine-translated"])
    train_select: list[str] | None = None
    eval_langs: list[str] | None = None
    eval_kinds: list[str] | None = field(default_factory=lambda: ["human"])
    epochs: int = 10
    batch_size: int = 128
    lr: float = 5e-4
    text_lr: float | None = None
    weight_decay: float = 0.01
    warmup: float = 0.1
    min_lr_ratio: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    text_mode: str = "frozen"
    ml_store: str | None = None
    device: str | None = None
    threads: int | None = None
    standardize: bool = True
    amp: bool = True
    bootstrap: int = 1000
    eval_test: bool = True
    resume: bool = False
    allow_missing_videos: bool = False

    def __post_init__(self) -> None:
        if self.text_mode not in ("frozen", "finetune"):
            raise ValueError(f"text_mode must be 'frozen' or 'finetune', got {self.text_mode!r}")
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(f"need epochs >= 1 and batch_size >= 2, got {self.epochs}, {self.batch_size}")


class WarmupCosine:
    """Linear warm-up to the base learning rate, then cosine decay to ``min_lr_ratio`` x base.

    factor(t) = (t + 1) / W for t < W, else m + (1 - m) * (1 + cos(pi * (t - W) / (N - W))) / 2.
    Its whole state is the step counter, so resuming is exact.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int,
                 min_lr_ratio: float = 0.0) -> None:
        self.optimizer, self.total, self.warmup, self.min_ratio = optimizer, max(total_steps, 1), warmup_steps, min_lr_ratio
        self.base = [g["lr"] for g in optimizer.param_groups]
        self.t = 0
        self._apply()

    def factor(self, t: int) -> float:
        if t < self.warmup:
            return (t + 1) / self.warmup
        p = min((t - self.warmup) / max(self.total - self.warmup, 1), 1.0)
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * p))

    def _apply(self) -> None:
        f = self.factor(self.t)
        for g, b in zip(self.optimizer.param_groups, self.base):
            g["lr"] = b * f

    def step(self) -> None:
        self.t += 1
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "base": self.base}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t, self.base = int(state["t"]), list(state["base"])
        self._apply()


def _param_groups(model: RetrievalModel, objective: Objective, cfg: TrainConfig) -> list[dict]:
    """AdamW groups: no weight decay on biases/norms/position tables; text tower at ``text_lr``."""
    groups: dict[tuple[bool, bool], list] = {}
    named = list(model.named_parameters()) + [(f"objective.{n}", p) for n, p in objective.named_parameters()]
    for n, p in named:
        if not p.requires_grad:
            continue
        key = (n.startswith("text.module."), p.ndim >= 2 and not n.endswith(".pos"))
        groups.setdefault(key, []).append(p)
    text_lr = cfg.text_lr if cfg.text_lr is not None else cfg.lr * 0.1
    return [{"params": ps, "lr": text_lr if is_text else cfg.lr, "weight_decay": cfg.weight_decay if decay else 0.0}
            for (is_text, decay), ps in sorted(groups.items())]


def _train_langs_kinds(cfg: TrainConfig) -> tuple[list[str] | None, list[str] | None, set | None]:
    if not cfg.train_select:
        return cfg.langs, cfg.kinds, None
    pairs = set()
    for s in cfg.train_select:
        if ":" not in s:
            raise ValueError(f"train_select entries are 'lang:kind', got {s!r}")
        lang, kind = s.split(":", 1)
        pairs.add((lang, kind))
    return sorted({l for l, _ in pairs}), sorted({k for _, k in pairs}), pairs


def _select_pairs(data: SplitData, pairs: set | None) -> SplitData:
    if pairs is None:
        return data
    return data.subset_captions(i for i, c in enumerate(data.captions) if (c.lang, c.kind) in pairs)


def _open(path: str, what: str):
    if what == "data":
        from mvkit.data import load
        return load(path)
    from mvkit.features.store import open_store
    return open_store(path)


def _gather_index(x: torch.Tensor) -> torch.Tensor:
    return ddp.gather_with_grad(x.long()) if ddp.world()[1] > 1 else x


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads (None: unchanged), restoring the count after.

    Tiny heads on a shared CPU run several times faster on one thread than on two.
    """
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def fit(config: TrainConfig, *, objective: Objective | None = None, dataset: Any = None, store: Any = None,
        ml_store: Any = None, encoder: Any = None,
        callbacks: Sequence[Callable[[int, dict[str, Any]], None]] = ()) -> RunRecord:
    """Train, select on val, evaluate on test once; write checkpoints and ``run.json`` under ``config.out``.

    objective: a custom loss hook (default: ``config.loss`` as a contrastive objective, or
    MKTVR's L_E + L_M for dual-text configs). dataset / store / ml_store / encoder: already
    opened objects (else opened from the config paths; the encoder is only needed for text
    fine-tuning). callbacks: called as ``cb(epoch, trainer_state)`` after each epoch's
    checkpoint (a test kills a run by raising from one).
    """
    with torch_threads(config.threads):
        return _fit(config, objective, dataset, store, ml_store, encoder, callbacks)


def _fit(config, objective, dataset, store, ml_store, encoder, callbacks) -> RunRecord:
    from mvkit.metrics import Protocol

    t_start = time.perf_counter()
    cfg = config
    device = setup(cfg.seed, cfg.device)
    rank, world = ddp.init_from_env(device)
    if cfg.out and rank == 0:   # a read-only or full --out fails now, not after the first epoch
        ensure_writable_dir(cfg.out)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank % torch.cuda.device_count())))
        torch.cuda.set_device(device)
    dataset = dataset if dataset is not None else _open(cfg.data, "data")
    store = store if store is not None else _open(cfg.store, "store")
    if ml_store is None and cfg.ml_store:
        ml_store = _open(cfg.ml_store, "store")
    if cfg.eval_test and not cfg.allow_missing_videos:   # say it before training, not after
        check_missing_videos("test", missing_videos(dataset, store, "test"), len(dataset.subset("test").videos),
                             str(getattr(store, "path", "the feature store")))

    mcfg = model_config(cfg.head, **cfg.model_overrides)
    dual = bool(mcfg.get("text", {}).get("dual", False))
    finetune = cfg.text_mode == "finetune"
    if finetune and dual:
        raise ValueError("text_mode='finetune' with the dual text path is not supported; use frozen towers")
    tokenize, text_module = None, None
    if finetune:
        if encoder is None:
            from mvkit.features.encoders import create_encoder
            prov = dict(getattr(store, "provenance", {}) or {})
            encoder = create_encoder(prov.get("encoder", "mvkit-tiny"), prov.get("pretrained"))
        tokenize, text_module = encoder.tokenize, encoder.text_module()

    streams = model_streams(mcfg)
    t_langs, t_kinds, pairs = _train_langs_kinds(cfg)
    eval_langs = cfg.eval_langs or t_langs
    load_kw = {"ml_store": ml_store, "text_features": not finetune}
    t0 = time.perf_counter()
    train = _select_pairs(build_split(dataset, store, "train", streams, langs=t_langs, kinds=t_kinds, **load_kw), pairs)
    val = build_split(dataset, store, "val", streams, langs=eval_langs, kinds=cfg.eval_kinds, **load_kw)
    for d in (train, val):
        if dual and d.ml_text is None:
            d.ml_text = d.text
    load_seconds = time.perf_counter() - t0

    text_dim = int(encoder.text_dim) if finetune else int(train.text.shape[1])
    ml_dim = int(train.ml_text.shape[1]) if (dual and train.ml_text is not None) else None
    video_dims = {s: int(train.feats[s].shape[-1]) for s in streams}
    model = create_model(mcfg, video_dims=video_dims, text_dim=text_dim, ml_text_dim=ml_dim,
                         text_module=text_module)
    if cfg.standardize:    # training-split statistics only
        en = train.is_en
        model.fit_input_stats(train.feats, train.masks,
                              None if finetune else (train.text[en] if ml_store is not None else train.text),
                              train.ml_text[~en] if (dual and (~en).any()) else None)
    model = model.to(device)
    objective = objective if objective is not None else default_objective(cfg.loss, cfg.loss_kwargs, dual, cfg.epochs)
    objective.to(device)
    ctx = TrainContext(cfg, dataset, store, train, model,
                       lambda split, **kw: build_split(dataset, store, split, streams, **{**load_kw, **kw}), device,
                       tokenize)
    objective.prepare(ctx)

    sampler = UniqueVideoBatchSampler(train.caption_video.numpy(), cfg.batch_size, cfg.seed,
                                      world_size=world, rank=rank)
    steps_per_epoch = len(sampler)
    if steps_per_epoch == 0:
        raise ValueError(f"{len(train.captions)} training captions make no batch of {cfg.batch_size} "
                         f"on {world} ranks")
    optimizer = torch.optim.AdamW(_param_groups(model, objective, cfg))
    total = steps_per_epoch * cfg.epochs
    scheduler = WarmupCosine(optimizer, total, round(cfg.warmup * total), cfg.min_lr_ratio)
    use_amp = bool(cfg.amp and device.type == "cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    params = [p for g in optimizer.param_groups for p in g["params"]]

    out = Path(cfg.out) if cfg.out else None
    last_path, best_path = (out / "last.safetensors", out / "best.safetensors") if out else (None, None)
    cfg_dict = asdict(cfg)
    state: dict[str, Any] = {"epoch": -1, "step": 0, "best_score": -math.inf, "best_epoch": -1,
                             "history": [], "config": cfg_dict}
    best_state = None
    if cfg.resume and last_path is not None and last_path.exists():
        state = load_training_state(last_path, model=model, optimizer=optimizer, scheduler=scheduler,
                                    scaler=scaler, objective=objective)
        _check_resumable(state["config"], cfg_dict, last_path)
        state["config"] = cfg_dict

    for epoch in range(state["epoch"] + 1, cfg.epochs):
        sampler.set_epoch(epoch)
        model.train()
        t_ep, loss_sum, n = time.perf_counter(), 0.0, 0
        for rows in sampler:
            rows_t = torch.as_tensor(rows, dtype=torch.long)
            vrows = train.caption_video[rows_t]
            tb = train.text_batch(rows_t, tokenize).to(device)
            vb = train.video_batch(vrows).to(device)
            with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                te, ve = ddp.gather_tree(model.embed_text(tb)), ddp.gather_tree(model.embed_video(vb))
                step = StepInput(model, te, ve, _gather_index(rows_t).to(device), _gather_index(vrows).to(device),
                                 _gather_index(tb.is_en).bool())
                loss = objective(step)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"epoch {epoch} step {state['step']}: loss is {loss.item()}")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            ddp.average_gradients(params)
            scaler.unscale_(optimizer)
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            loss_sum, n = loss_sum + float(loss.detach()), n + 1
            state["step"] += 1
        train_seconds = time.perf_counter() - t_ep

        t_ev = time.perf_counter()
        val_res = evaluate_split(model, val, langs=eval_langs, device=device, tokenize=tokenize)
        score = selection_score(val_res)
        eval_seconds = time.perf_counter() - t_ev
        improved = score > state["best_score"]
        if improved:
            state["best_score"], state["best_epoch"] = score, epoch
            if best_path is not None and rank == 0:
                save_weights(best_path, model, _weights_meta(mcfg, video_dims, text_dim, ml_dim, epoch, cfg_dict))
            best_state = copy.deepcopy(model.state_dict())
        state["history"].append({"epoch": epoch, "loss": loss_sum / max(n, 1), "val_score": score,
                                 "val": {l: {"t2v": r["t2v"], "v2t": r["v2t"]} for l, r in val_res.items()},
                                 "train_seconds": train_seconds, "eval_seconds": eval_seconds,
                                 "lr": optimizer.param_groups[0]["lr"]})
        state["epoch"] = epoch
        if last_path is not None and rank == 0:
            save_training_state(last_path, model=model, optimizer=optimizer, scheduler=scheduler,
                                scaler=scaler, objective=objective, trainer=state)
        ddp.barrier()
        for cb in callbacks:
            cb(epoch, state)

    # ---- selection is final: only now is the test split touched ------------------------------
    if best_state is not None:
        model.load_state_dict(best_state)
    elif best_path is not None and best_path.exists():
        load_weights(best_path, model)
    t_ev = time.perf_counter()
    val_final = evaluate_split(model, val, langs=eval_langs, device=device, bootstrap=cfg.bootstrap,
                               seed=cfg.seed, tokenize=tokenize)
    test_res: dict[str, Any] = {}
    test_info: dict[str, Any] = {}
    if cfg.eval_test:
        test = build_split(dataset, store, "test", streams, langs=eval_langs, kinds=cfg.eval_kinds,
                           allow_missing_videos=cfg.allow_missing_videos, **load_kw)
        if dual and test.ml_text is None:
            test.ml_text = test.text
        test_res = evaluate_split(model, test, langs=eval_langs, device=device, bootstrap=cfg.bootstrap,
                                  seed=cfg.seed, tokenize=tokenize)
        test_info = {"videos": len(test.video_ids), "captions": len(test.captions), "skipped": len(test.skipped)}
    final_eval_seconds = time.perf_counter() - t_ev

    hist = state["history"]
    record = RunRecord(
        config=cfg_dict,
        protocol={
            "eval_split": "test" if cfg.eval_test else "val",
            "selection_split": "val",
            "selection_criterion": SELECTION_CRITERION,
            "test_evaluated_after_selection": True,
            "eval_langs": list(eval_langs) if eval_langs else None,
            "eval_kinds": cfg.eval_kinds,
            "t2v": Protocol("test" if cfg.eval_test else "val", "t2v", selection_split="val", dataset=dataset.name).to_dict(),
            "v2t": Protocol("test" if cfg.eval_test else "val", "v2t", selection_split="val", dataset=dataset.name).to_dict(),
            "t2v_gallery": "all videos of the split with features",
            "missing_videos": {"allowed": cfg.allow_missing_videos, "test_without_features": test_info.get("skipped", 0),
                               "policy": "error on test unless allowed; train/val: left out with a warning"},
            "v2t_queries": "videos with at least one caption in the language",
            "ci": {"level": 0.95, "method": "bootstrap over queries", "n": cfg.bootstrap},
        },
        selection={"split": "val", "criterion": SELECTION_CRITERION, "selected_epoch": state["best_epoch"],
                   "best_score": state["best_score"], "history": hist},
        results=test_res if cfg.eval_test else val_final,
        val_results=val_final,
        objective=objective.describe(),
        model_config={**mcfg, "n_parameters": sum(p.numel() for p in model.parameters())},
        data={"train": {"videos": len(train.video_ids), "captions": len(train.captions), "skipped": len(train.skipped)},
              "val": {"videos": len(val.video_ids), "captions": len(val.captions), "skipped": len(val.skipped)},
              "test": test_info, "streams": streams, "video_dims": video_dims, "text_dim": text_dim,
              "store_provenance": dict(getattr(store, "provenance", {}) or {})},
        timings={"load_seconds": load_seconds,
                 "epoch_train_seconds": [h["train_seconds"] for h in hist],
                 "epoch_eval_seconds": [h["eval_seconds"] for h in hist],
                 "mean_epoch_train_seconds": sum(h["train_seconds"] for h in hist) / max(len(hist), 1),
                 "final_eval_seconds": final_eval_seconds, "total_seconds": time.perf_counter() - t_start,
                 "steps_per_epoch": steps_per_epoch},
        environment={"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
                     "world_size": world, "amp": use_amp, "threads": torch.get_num_threads()},
        paths={"best": str(best_path) if best_path else "", "last": str(last_path) if last_path else ""},
    )
    if out is not None and rank == 0:
        record.write(out / "run.json")
    record.model = model  # type: ignore[attr-defined]  # convenience for notebooks; not serialised
    return record


def _weights_meta(mcfg: dict, video_dims: dict, text_dim: int, ml_dim: int | None, epoch: int,
                  cfg: dict) -> dict[str, Any]:
    return {"model_config": mcfg, "video_dims": video_dims, "text_dim": text_dim, "ml_text_dim": ml_dim,
            "epoch": epoch, "train_config": cfg}


def _check_resumable(saved: dict, now: dict, path: Path) -> None:
    diff = sorted(k for k in set(saved) | set(now) if k not in _RESUME_FREE and saved.get(k) != now.get(k))
    if diff:
        raise ValueError(f"{path}: cannot resume, the config changed in {diff} "
                         f"(saved {[saved.get(k) for k in diff]} vs now {[now.get(k) for k in diff]})")


def load_model(path: str | Path, *, text_module: torch.nn.Module | None = None,
               device: str | torch.device = "cpu") -> RetrievalModel:
    """Rebuild a trained model from ``best.safetensors`` (its config and dims are in the metadata)."""
    from mvkit.train.checkpoint import read_checkpoint

    _, meta = read_checkpoint(path)
    m = meta.get("meta", {})
    if "model_config" not in m:
        raise ValueError(f"{path}: no model config in the checkpoint metadata")
    model = create_model(m["model_config"], video_dims=m["video_dims"], text_dim=m["text_dim"],
                         ml_text_dim=m.get("ml_text_dim"), text_module=text_module)
    load_weights(path, model)
    return model.to(device).eval()
