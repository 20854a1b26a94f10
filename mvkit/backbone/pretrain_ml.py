"""``mvkit pretrain-ml``: distil the multilingual text tower ``mvkit-tiny-ml`` from mvkit-tiny.

The embedded analogue of a multilingual CLIP text tower (M-CLIP's XLM-R, open_clip's
``xlm-roberta-base-ViT-B-32`` / ``nllb-clip-base``), made with the recipe of Reimers &
Gurevych (2020, "Making monolingual sentence embeddings multilingual") and M-CLIP
(Carlsson et al., 2022): a student learns to put a translation where the frozen English
teacher puts its source,

    L = mean_i || s(x_i) - t(e_i) ||^2 / Var(t)

over pairs (x_i, e_i) = (an English caption, itself) and (a machine translation into
another language, its English source). Teacher: mvkit-tiny's English text tower, frozen.
Student: a :class:`~mvkit.models.bag.BagOfTokens` over mvkit-tiny's tokenizer, started
from the teacher's token embeddings, so it lands in the teacher's text space and works with
mvkit-tiny's video towers unchanged. Data: the *pretraining* world (seed 1000) only -- its
training split's English human captions and their machine translations into the 15 other
languages -- so the benchmark world stays clean. Deterministic for a seed and thread count.

The files it writes and how they load: :mod:`mvkit.backbone.multilingual` (docs/multilingual.md).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from mvkit import backbone as bb
from mvkit.backbone.multilingual import ML_CONFIG, ML_DIR, ML_NAME, ML_WEIGHTS
from mvkit.io import atomic_path, atomic_write_json


def build_student(teacher: Any, bigram_buckets: int = 8192, seed: int = 0) -> nn.Module:
    """A fresh student over the teacher encoder's tokenizer and token embeddings."""
    from mvkit.models.bag import BagOfTokens

    tok = teacher.text_tokenizer()
    return BagOfTokens(teacher.token_embeddings(), int(teacher.text_dim), tok.special_ids, bigram_buckets, seed=seed)


# ---------------------------------------------------------------------------- distillation
def distillation_pairs(ds: Any) -> tuple[list, list[str]]:
    """(student inputs, the English caption id whose teacher feature each one must match)."""
    train = {v.video_id for v in ds.videos if v.split == "train"}
    en = [c for c in ds.captions if c.lang == "en" and c.kind == "human" and c.video_id in train]
    ids = {c.caption_id for c in en}
    mt = [c for c in ds.captions if c.kind == "machine-translated" and not c.is_translate_test
          and c.video_id in train and c.source_id in ids]
    return en + mt, [c.caption_id for c in en] + [c.source_id for c in mt]


def distill(ds: Any, teacher: Any, *, epochs: int = 30, batch_size: int = 256, lr: float = 2e-3,
            bigram_buckets: int = 8192, seed: int = 0, log_fn: Any=print) -> tuple[nn.Module, dict[str, Any]]:
    """Train the student on ``ds``'s pairs (module docstring); returns ``(student, log)``."""
    from mvkit.train.data import tokenize_captions
    from mvkit.train.schedule import WarmupCosine

    inputs, target_ids = distillation_pairs(ds)
    if not inputs:
        raise ValueError(f"{ds.source or ds.name}: no English training captions to distil from")
    by_id = {c.caption_id: c for c in ds.captions}
    en_ids = sorted(set(target_ids))
    with torch.inference_mode():
        feats = teacher.encode_text([by_id[i].text for i in en_ids], "en")
    row = {cid: i for i, cid in enumerate(en_ids)}
    targets = feats[torch.tensor([row[i] for i in target_ids])].clone()
    var = float(targets.var())
    student = build_student(teacher, bigram_buckets, seed)
    if int(student.out_dim) != int(targets.shape[1]):
        raise ValueError(f"student width {student.out_dim} does not match the teacher's {targets.shape[1]}")
    tokens, lengths = tokenize_captions(inputs, teacher.text_tokenizer(), "distillation captions")
    opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.0)
    steps = math.ceil(len(inputs) / batch_size)
    sched = WarmupCosine(opt, steps * epochs, steps, 0.0)
    gen = torch.Generator().manual_seed(seed)
    log: dict[str, Any] = {"pairs": len(inputs), "english": len(en_ids), "target_variance": var,
                           "langs": sorted({c.lang for c in inputs}), "epochs": []}
    t0 = time.time()
    student.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(inputs), generator=gen)
        total = 0.0
        for i in range(0, len(perm), batch_size):
            r = perm[i:i + batch_size]
            out = student(tokens[r, :int(lengths[r].max())])
            loss = ((out - targets[r]) ** 2).mean() / var
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(r)
        rec = {"epoch": epoch + 1, "mse_over_var": round(total / len(inputs), 5), "seconds": round(time.time() - t0, 1)}
        log["epochs"].append(rec)
        log_fn(json.dumps(rec))
    log["train_seconds"] = round(time.time() - t0, 1)
    return student.eval(), log


def save_multilingual(out: str | Path, student: nn.Module, teacher: Any, log: dict[str, Any],
                      bigram_buckets: int) -> None:
    """Write weights, config and log atomically (the tokenizer stays mvkit-tiny's)."""
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / ML_WEIGHTS) as tmp:
        save_file({k: v.detach().contiguous() for k, v in student.state_dict().items()}, str(tmp))
    emb = student.unigrams.weight
    atomic_write_json(out / ML_CONFIG, {
        "name": ML_NAME, "architecture": "bag", "vocab_size": int(emb.shape[0]), "width": int(emb.shape[1]),
        "out_dim": int(student.out_dim), "bigram_buckets": int(bigram_buckets), "hidden": None,
        "special_ids": [int(i) for i in student.special.tolist()], "context_length": int(teacher.tokenizer.context_length),
        "tokenizer": f"{bb.TINY_NAME}/{bb.TOKENIZER_FILE}", "tokenizer_identity": teacher.tokenizer_identity,
        "teacher": {"encoder": teacher.name, "weights_sha256": teacher.weights_sha256}})
    atomic_write_json(out / "training_log.json", log)


class _StudentModel(nn.Module):
    """mvkit-tiny's video towers with the student's text (for the zero-shot held-out check)."""

    def __init__(self, tiny: nn.Module, student: nn.Module) -> None:
        super().__init__()
        self.tiny, self.student = tiny, student

    def video_streams(self, *a: Any, **k: Any):
        return self.tiny.video_streams(*a, **k)

    def text(self, tokens: Tensor) -> Tensor:
        return torch.nn.functional.normalize(self.student(tokens), dim=-1)


def heldout(student: nn.Module, eval_world: str | Path | None = None) -> dict[str, Any]:
    """Zero-shot text->video recall on the benchmark world's test split, every language: the
    student's text against mvkit-tiny's video towers, next to mvkit-tiny's own English tower."""
    from mvkit import data as mdata
    from mvkit.backbone.pretrain import TinyModel, evaluate

    if eval_world is None:
        from mvkit.data.synth import ensure_world

        eval_world = ensure_world()
    parts = bb.load_tiny()
    tiny = TinyModel(parts.clip, parts.towers).eval()
    ds = mdata.load(eval_world)
    t0 = time.time()
    ml = evaluate(_StudentModel(tiny, student), parts.tokenizer, ds, "test")
    en_only = evaluate(tiny, parts.tokenizer, ds, "test")
    return {"world": str(eval_world), "split": "test", "seconds": round(time.time() - t0, 1),
            "protocol": "zero-shot text->video (no training on the benchmark world), pessimistic ties, "
                        "all human captions of each language; video side: mvkit-tiny's towers",
            "recall": ml, "recall_mvkit_tiny": en_only}


def _parser() -> argparse.ArgumentParser:
    from mvkit.backbone.pretrain import PRETRAIN_SEED, PRETRAIN_VIDEOS

    p = argparse.ArgumentParser(prog="mvkit pretrain-ml", description=__doc__.split("\n\n")[0])
    p.add_argument("--world", type=Path, default=None,
                   help=f"pretraining world (default: ensure_world({PRETRAIN_VIDEOS}, seed={PRETRAIN_SEED}))")
    p.add_argument("--eval-world", type=Path, default=None, help="benchmark world for the held-out check")
    p.add_argument("--no-eval", action="store_true", help="skip the held-out check")
    p.add_argument("--out", type=Path, default=ML_DIR, help="output folder (default: the shipped assets)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--bigram-buckets", type=int, default=8192)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-videos", type=int, default=None, help="use only the first N videos (smoke runs)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``mvkit pretrain-ml``; returns 0 on success."""
    from mvkit._setup import setup
    from mvkit.backbone.pretrain import pretraining_dataset
    from mvkit.features.encoders import create_encoder

    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    setup(args.seed, device="cpu")
    t0 = time.time()
    args.world, ds = pretraining_dataset(args.world, args.max_videos)
    teacher = create_encoder(bb.TINY_NAME, device="cpu")
    student, log = distill(ds, teacher, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                           bigram_buckets=args.bigram_buckets, seed=args.seed)
    log["recipe"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    log["teacher"] = {"encoder": teacher.name, "weights_sha256": teacher.weights_sha256}
    log["threads"] = torch.get_num_threads()
    save_multilingual(args.out, student, teacher, log, args.bigram_buckets)
    if not args.no_eval:
        log["heldout"] = heldout(student, args.eval_world)
    log["total_seconds"] = round(time.time() - t0, 1)
    atomic_write_json(Path(args.out) / "training_log.json", log)
    print(f"saved {ML_NAME} to {args.out} in {log['total_seconds']:.0f}s")
    return 0
