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
    load_weights,
    save_weights,
)
from mvkit.train.data import SplitData, build_split, check_missing_videos, missing_videos
from mvkit.train.evaluate import SELECTION_CRITERION, evaluate_split, selection_score
from mvkit.train.objectives import Objective, StepInput, TrainContext, create_objective
from mvkit.train.record import RunRecord
from mvkit.train.sampler import UniqueVideoBatchSampler
from mvkit.train.schedule import WarmupCosine
from mvkit.train.step import checkpoint_epoch, optimizer_step, restore_selected, start_or_resume

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
    test queries (default: the training languages, human captions only). text_encoder: the
    text side, by name (:mod:`mvkit.models.text_encoders`): ``frozen`` (cached features + a
    trainable projection), ``tower`` (the encoder's own text tower fine-tuned at ``text_lr``)
    or ``bag`` (the fast bag-of-subwords student at ``text_lr``); text_encoder_kwargs go to
    its factory. captions_per_video: sample at most this many training captions per video
    each epoch (None: all), which bounds the cost of an epoch for a slow text tower.
    translate_test: also evaluate the test split with the machine translations into English
    of every language's captions (``RunRecord.translate_test``). ml_store: a second store
    whose text features feed the multilingual tower of the dual text path. warmup: fraction
    of all steps spent warming up. threads: torch CPU threads (None: torch's default; small
    heads on a busy CPU are fastest with 1). standardize: centre and scale the frozen input
    features per dimension with statistics of the training split (stored in the model),
    which matters for anisotropic encoders.
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
    text_encoder: str = "frozen"
    text_encoder_kwargs: dict[str, Any] = field(default_factory=dict)
    captions_per_video: int | None = None
    translate_test: bool = False
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
        from mvkit.models.text_encoders import TEXT_ENCODERS

        if self.text_encoder not in TEXT_ENCODERS:
            raise ValueError(f"unknown text_encoder {self.text_encoder!r}; registered: {', '.join(sorted(TEXT_ENCODERS))}")
        if self.captions_per_video is not None and self.captions_per_video < 1:
            raise ValueError(f"captions_per_video must be >= 1 or None, got {self.captions_per_video}")
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(f"need epochs >= 1 and batch_size >= 2, got {self.epochs}, {self.batch_size}")


def _param_groups(model: RetrievalModel, objective: Objective, cfg: TrainConfig) -> list[dict]:
    """AdamW groups: no weight decay on biases/norms/position tables; the trainable text side at
    ``text_lr`` (default: ``lr`` x the text side's ``lr_scale``: 0.1 for a pretrained tower, 1 for
    the bag of tokens, which starts from untrained rows for most languages)."""
    groups: dict[tuple[bool, bool], list] = {}
    named = list(model.named_parameters()) + [(f"objective.{n}", p) for n, p in objective.named_parameters()]
    for n, p in named:
        if not p.requires_grad:
            continue
        key = (n.startswith("text.module."), p.ndim >= 2 and not n.endswith(".pos"))
        groups.setdefault(key, []).append(p)
    scale = float(getattr(model.text.module, "lr_scale", 0.1))
    text_lr = cfg.text_lr if cfg.text_lr is not None else cfg.lr * scale
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

    objective: a custom loss hook (default: ``create_objective(config.loss)``: a registered
    objective, or a ``(sim, pos)`` loss, as MKTVR's L_E + L_M for dual-text configs).
    dataset / store / ml_store / encoder: already opened objects (else opened from the config
    paths; the encoder, which a trainable text side starts from, is rebuilt from the store's
    provenance and checked against its weights when not given). callbacks: called as
    ``cb(epoch, trainer_state)`` after each epoch's checkpoint (a test kills a run by raising
    from one).

    Example (the smoke-sized embedded world, one epoch):
        >>> from mvkit.data import load
        >>> from mvkit.data.synth import ensure_world
        >>> from mvkit.features.extract import ensure_store
        >>> from mvkit.features.store import open_store
        >>> from mvkit.train import TrainConfig, fit
        >>> world = ensure_world(200, seed=0)
        >>> rec = fit(TrainConfig(head="fusion", epochs=1, bootstrap=0, threads=1),
        ...           dataset=load(world), store=open_store(ensure_store(world, progress=False)))
        >>> rec.selection["split"], rec.protocol["eval_split"], sorted(rec.results)
        ('val', 'test', ['en'])
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
    get_encoder = _encoder_getter(store, encoder, device)
    text_module = _text_side(cfg, get_encoder)
    streams = model_streams(mcfg)
    t_langs, t_kinds, pairs = _train_langs_kinds(cfg)
    eval_langs = cfg.eval_langs or t_langs
    cached = "none" if (text_module is not None and not dual) else ("en" if text_module is not None else "all")
    load_kw = {"ml_store": ml_store, "cached_text": cached, "tokenizer": text_module}
    t0 = time.perf_counter()
    train = _select_pairs(build_split(dataset, store, "train", streams, langs=t_langs, kinds=t_kinds, **load_kw), pairs)
    val = build_split(dataset, store, "val", streams, langs=eval_langs, kinds=cfg.eval_kinds, **load_kw)
    for d in (train, val):
        if dual and text_module is None and d.ml_text is None:
            d.ml_text = d.text
    if device.type == "cuda":      # host->device copies of batches overlap the step
        train.feats = {k: v.pin_memory() for k, v in train.feats.items()}
    load_seconds = time.perf_counter() - t0

    text_dim = int(text_module.out_dim) if cached == "none" else int(train.text.shape[1])
    ml_dim = int(train.ml_text.shape[1]) if (dual and train.ml_text is not None) else None
    video_dims = {s: int(train.feats[s].shape[-1]) for s in streams}
    model = create_model(mcfg, video_dims=video_dims, text_dim=text_dim, ml_text_dim=ml_dim,
                         text_module=text_module)
    if cfg.standardize:    # training-split statistics only
        en = train.is_en
        feats_in = None if cached == "none" else (train.text[en] if (ml_store is not None or cached == "en") else train.text)
        model.fit_input_stats(train.feats, train.masks, feats_in,
                              train.ml_text[~en] if (dual and train.ml_text is not None and (~en).any()) else None)
    model = model.to(device)
    objective = objective if objective is not None else create_objective(cfg.loss, cfg.loss_kwargs, dual=dual,
                                                                        epochs=cfg.epochs)
    objective.to(device)

    def table(split: str, streams: Sequence[str] | None = None, **kw: Any) -> SplitData:
        return build_split(dataset, store, split, list(streams or model.streams), **{**load_kw, **kw})
    ctx = TrainContext(cfg, dataset, store, train, model, table, device, encoder, get_encoder)
    objective.prepare(ctx)

    sampler = UniqueVideoBatchSampler(train.caption_video.numpy(), cfg.batch_size, cfg.seed,
                                      world_size=world, rank=rank, captions_per_video=cfg.captions_per_video)
    steps_per_epoch = len(sampler)
    if steps_per_epoch == 0:
        raise ValueError(f"{len(train.captions)} training captions make no batch of {cfg.batch_size}")
    optimizer = torch.optim.AdamW(_param_groups(model, objective, cfg))
    total = steps_per_epoch * cfg.epochs
    scheduler = WarmupCosine(optimizer, total, round(cfg.warmup * total), cfg.min_lr_ratio)
    use_amp = bool(cfg.amp and device.type == "cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    params = [p for g in optimizer.param_groups for p in g["params"]]

    out = Path(cfg.out) if cfg.out else None
    last_path, best_path = (out / "last.safetensors", out / "best.safetensors") if out else (None, None)
    cfg_dict = asdict(cfg)
    state = start_or_resume(cfg_dict, last_path, cfg.resume, _RESUME_FREE, model=model, optimizer=optimizer,
                            scheduler=scheduler, scaler=scaler, objective=objective)
    best_state = None

    for epoch in range(state["epoch"] + 1, cfg.epochs):
        sampler.set_epoch(epoch)
        model.train()
        t_ep, loss_sum, n = time.perf_counter(), 0.0, 0
        for batch in sampler.global_batches():       # the same global batches for any number of ranks
            parts = sampler.split(batch)
            sizes = [len(p) for p in parts]
            # a rank whose slice of a short last batch is empty embeds a stand-in row it does not contribute
            rows_t = torch.as_tensor(parts[rank] or batch[:1], dtype=torch.long)
            vrows = train.caption_video[rows_t]
            tb = train.text_batch(rows_t).to(device)
            vb = train.video_batch(vrows).to(device)
            every = torch.as_tensor(batch, dtype=torch.long)
            with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                te = ddp.gather_tree(model.embed_text(tb), sizes)
                ve = ddp.gather_tree(model.embed_video(vb), sizes)
                step = StepInput(model, te, ve, every.to(device), train.caption_video[every].to(device),
                                 train.is_en[every].to(device))
                loss = objective(step)
            try:
                optimizer_step(loss, optimizer, scaler, scheduler, params, cfg.grad_clip)
            except FloatingPointError as e:
                raise FloatingPointError(f"epoch {epoch} step {state['step']}: {e}") from None
            loss_sum, n = loss_sum + float(loss.detach()), n + 1
            state["step"] += 1
        train_seconds = time.perf_counter() - t_ep

        t_ev = time.perf_counter()
        val_res = evaluate_split(model, val, langs=eval_langs, device=device)
        score = selection_score(val_res)
        eval_seconds = time.perf_counter() - t_ev
        improved = score > state["best_score"]
        if improved:
            state["best_score"], state["best_epoch"] = score, epoch
            if best_path is not None and rank == 0:
                save_weights(best_path, model, _weights_meta(mcfg, video_dims, text_dim, ml_dim, epoch, cfg_dict,
                                                             model))
            best_state = copy.deepcopy(model.state_dict())
        state["history"].append({"epoch": epoch, "loss": loss_sum / max(n, 1), "val_score": score,
                                 "val": {l: {"t2v": r["t2v"], "v2t": r["v2t"]} for l, r in val_res.items()},
                                 "train_seconds": train_seconds, "eval_seconds": eval_seconds,
                                 "lr": optimizer.param_groups[0]["lr"]})
        checkpoint_epoch(last_path, rank, epoch, state, model=model, optimizer=optimizer, scheduler=scheduler,
                         scaler=scaler, objective=objective, callbacks=callbacks)

    # ---- selection is final: only now is the test split touched ------------------------------
    restore_selected(model, best_state, best_path)
    t_ev = time.perf_counter()
    val_final = evaluate_split(model, val, langs=eval_langs, device=device, bootstrap=cfg.bootstrap,
                               seed=cfg.seed)
    test_res: dict[str, Any] = {}
    test_info: dict[str, Any] = {}
    tt_res: dict[str, Any] = {}
    if cfg.eval_test:
        test = build_split(dataset, store, "test", streams, langs=eval_langs, kinds=cfg.eval_kinds,
                           allow_missing_videos=cfg.allow_missing_videos, **load_kw)
        if dual and text_module is None and test.ml_text is None:
            test.ml_text = test.text
        test_res = evaluate_split(model, test, langs=eval_langs, device=device, bootstrap=cfg.bootstrap,
                                  seed=cfg.seed)
        test_info = {"videos": len(test.video_ids), "captions": len(test.captions), "skipped": len(test.skipped)}
        if cfg.translate_test:
            tt_res = _translate_test(model, dataset, store, streams, load_kw, eval_langs, device, cfg)
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
            "text_encoder": _text_description(model),
            **({"translate_test": TRANSLATE_TEST_PROTOCOL} if tt_res else {}),
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
        translate_test=tt_res,
    )
    if out is not None and rank == 0:
        record.write(out / "run.json")
    record.model = model  # type: ignore[attr-defined]  # convenience for notebooks; not serialised
    return record


def _weights_meta(mcfg: dict, video_dims: dict, text_dim: int, ml_dim: int | None, epoch: int,
                  cfg: dict, model: RetrievalModel) -> dict[str, Any]:
    return {"model_config": mcfg, "video_dims": video_dims, "text_dim": text_dim, "ml_text_dim": ml_dim,
            "epoch": epoch, "train_config": cfg, "text_encoder": _text_description(model)}


#: what the translate-test results of a run record mean
TRANSLATE_TEST_PROTOCOL = ("queries are machine translations into English of each language's human test "
                           "captions (the world's MT noise model), encoded as English; grouped by the "
                           "language they were translated from")


def _text_description(model: RetrievalModel) -> dict[str, Any]:
    """The text side a model reads: ``{"name": "frozen"}`` or the trainable text side's spec."""
    module = model.text.module
    return {"name": "frozen"} if module is None else module.spec()


def _encoder_getter(store: Any, encoder: Any, device: torch.device) -> Callable[[], Any]:
    """A function returning the run's feature encoder: the one given (checked against the store's
    weights) or, built once on first use, the one the store's provenance names."""
    box: dict[str, Any] = {}

    def get() -> Any:
        if "enc" not in box:
            from mvkit.features.encoders import encoder_for_store

            box["enc"] = encoder_for_store(store, encoder, device=device)
        return box["enc"]
    return get


def _text_side(cfg: TrainConfig, get_encoder: Callable[[], Any]) -> Any:
    """The trainable text side ``cfg.text_encoder`` names (None for ``frozen``), seeded by the run."""
    from mvkit.models.text_encoders import FROZEN, TEXT_ENCODERS, create_text_encoder
    from mvkit.train.objectives.base import takes

    if cfg.text_encoder == FROZEN:
        return None
    kw = dict(cfg.text_encoder_kwargs)
    if takes(TEXT_ENCODERS[cfg.text_encoder], "seed"):
        kw.setdefault("seed", cfg.seed)
    return create_text_encoder(cfg.text_encoder, get_encoder(), **kw)


def _translate_test(model: RetrievalModel, dataset: Any, store: Any, streams: Sequence[str], load_kw: dict,
                    langs: Sequence[str] | None, device: torch.device, cfg: TrainConfig) -> dict[str, Any]:
    """Test metrics with the translate-test queries, per language they were translated from."""
    tt = build_split(dataset, store, "test", streams, langs=["en"], kinds=["machine-translated"], **load_kw)
    if model.text.ml_dim and model.text.module is None and tt.ml_text is None:
        tt.ml_text = tt.text
    have = sorted(set(tt.query_langs or []) - {"en"})
    want = [lang for lang in (langs or have) if lang in have]
    if not want:
        raise ValueError(f"{dataset.source or dataset.name}: no translate-test captions (machine translations "
                         "into English of test captions) for the evaluated languages")
    return evaluate_split(model, tt, langs=want, device=device, bootstrap=cfg.bootstrap, seed=cfg.seed,
                          by_query_lang=True)


def load_model(path: str | Path, *, encoder: Any = None, device: str | torch.device = "cpu") -> RetrievalModel:
    """Rebuild a trained model from ``best.safetensors`` (its config and dims are in the metadata).

    A model with a trainable text side is rebuilt from the feature encoder it was trained
    from: ``encoder`` (checked against the checkpoint's record of its weights and tokenizer)
    or, if None, the encoder the checkpoint names.
    """
    from mvkit.models.text_encoders import FROZEN, rebuild_text_encoder
    from mvkit.train.checkpoint import read_checkpoint

    _, meta = read_checkpoint(path)
    m = meta.get("meta", {})
    if "model_config" not in m:
        raise ValueError(f"{path}: no model config in the checkpoint metadata")
    spec = m.get("text_encoder") or {"name": FROZEN}
    text_module = None
    if spec.get("name", FROZEN) != FROZEN:
        if encoder is None:
            from mvkit.features.encoders import encoder_from_identity

            encoder = encoder_from_identity(spec.get("encoder", {}), where=str(path))
        text_module = rebuild_text_encoder(spec, encoder, str(path))
    model = create_model(m["model_config"], video_dims=m["video_dims"], text_dim=m["text_dim"],
                         ml_text_dim=m.get("ml_text_dim"), text_module=text_module)
    load_weights(path, model)
    return model.to(device).eval()
