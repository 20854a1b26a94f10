"""``mvkit train``: train a retrieval head on cached features and write a run record.

Example:
    mvkit train --data DIR --store DIR --head mean --loss infonce --langs en,de \\
        --epochs 10 --out runs/x [--resume]
Under ``torchrun --nproc_per_node N -m mvkit train ...`` the loss is computed once over
the global batch (embeddings gathered across ranks); only rank 0 writes.
"""
from __future__ import annotations

import argparse
import json
import sys

from mvkit.train.trainer import TrainConfig, fit


def _csv(s: str | None) -> list[str] | None:
    """Comma-separated list; empty or 'all' means no filter (None)."""
    if not s or s.strip().lower() == "all":
        return None
    return [x.strip() for x in s.split(",") if x.strip()]


def _json(s: str | None, what: str) -> dict:
    if not s:
        return {}
    try:
        v = json.loads(s)
    except json.JSONDecodeError as e:
        raise SystemExit(f"mvkit train: {what} is not valid JSON ({e.msg}): {s!r}")
    if not isinstance(v, dict):
        raise SystemExit(f"mvkit train: {what} must be a JSON object, got {s!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(prog="mvkit train", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="dataset directory or manifest")
    p.add_argument("--store", required=True, help="feature store directory")
    p.add_argument("--out", required=True, help="run directory (checkpoints + run.json)")
    p.add_argument("--head", default=d.head, help="model config name or JSON path (mean, seqtransf, dcm, rivrl, fusion, ...)")
    p.add_argument("--model-overrides", default=None, help='JSON merged into the model config, e.g. \'{"embed_dim": 128}\'')
    p.add_argument("--loss", default=d.loss, help="loss name (mvkit.losses.create_loss)")
    p.add_argument("--loss-kwargs", default=None, help='JSON, e.g. \'{"temperature": 0.05}\'')
    p.add_argument("--langs", default="en", help="training caption languages, comma-separated")
    p.add_argument("--kinds", default=",".join(d.kinds), help="training caption kinds (human,machine-translated,back-translated; 'all')")
    p.add_argument("--train-select", default=None, help="explicit lang:kind pairs, e.g. en:human,de:machine-translated")
    p.add_argument("--eval-langs", default=None, help="val/test languages (default: training languages)")
    p.add_argument("--eval-kinds", default=",".join(d.eval_kinds), help="val/test caption kinds ('all' for every kind)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="global batch size")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--text-lr", type=float, default=None)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--warmup", type=float, default=d.warmup, help="fraction of steps for linear warm-up")
    p.add_argument("--grad-clip", type=float, default=d.grad_clip)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--text-encoder", default=d.text_encoder,
                   help="text side: frozen (cached features), tower (fine-tune the encoder's text tower), "
                        "bag (fast bag-of-subwords student)")
    p.add_argument("--text-encoder-kwargs", default=None, help='JSON for the text side, e.g. \'{"bigram_buckets": 4096}\'')
    p.add_argument("--captions-per-video", type=int, default=None,
                   help="sample at most this many training captions per video each epoch (default: all)")
    p.add_argument("--translate-test", action="store_true",
                   help="also evaluate with machine translations into English of the test captions")
    p.add_argument("--ml-store", default=None, help="store of the multilingual text tower (dual text path)")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (small heads: 1 is often fastest)")
    p.add_argument("--no-standardize", action="store_true",
                   help="feed raw features (default: centre/scale with training-split statistics)")
    p.add_argument("--no-amp", action="store_true", help="disable AMP (it is only ever used on CUDA)")
    p.add_argument("--bootstrap", type=int, default=d.bootstrap, help="bootstrap resamples for 95%% CIs")
    p.add_argument("--no-test", action="store_true", help="report val only (no test evaluation)")
    p.add_argument("--allow-missing-videos", action="store_true",
                   help="evaluate on the test videos the store has when some lack features (recorded in the "
                        "run record); by default that is an error")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.safetensors if present")
    p.add_argument("--plugin", action="append", default=[],
                   help="a .py file or module to import first (your own @register_loss / @register_head / "
                        "@register_objective / @register_text_encoder; repeatable)")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    from mvkit.registry import load_plugin

    for spec in a.plugin:
        load_plugin(spec)
    cfg = TrainConfig(
        data=a.data, store=a.store, out=a.out, head=a.head,
        model_overrides=_json(a.model_overrides, "--model-overrides"),
        loss=a.loss, loss_kwargs=_json(a.loss_kwargs, "--loss-kwargs"),
        langs=_csv(a.langs), kinds=_csv(a.kinds), train_select=_csv(a.train_select),
        eval_langs=_csv(a.eval_langs), eval_kinds=_csv(a.eval_kinds),
        epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, text_lr=a.text_lr, weight_decay=a.weight_decay,
        warmup=a.warmup, grad_clip=a.grad_clip, seed=a.seed, text_encoder=a.text_encoder,
        text_encoder_kwargs=_json(a.text_encoder_kwargs, "--text-encoder-kwargs"),
        captions_per_video=a.captions_per_video, translate_test=a.translate_test, ml_store=a.ml_store,
        device=a.device, threads=a.threads, standardize=not a.no_standardize, amp=not a.no_amp, bootstrap=a.bootstrap, eval_test=not a.no_test, resume=a.resume,
        allow_missing_videos=a.allow_missing_videos,
    )
    try:
        rec = fit(cfg)
    except (ValueError, FileNotFoundError, KeyError) as e:   # bad input: say what, not a traceback
        print(f"mvkit train: {e}", file=sys.stderr)
        return 2
    from mvkit.train import ddp
    if ddp.world()[0] != 0:
        return 0
    sel = rec.selection
    print(f"selected epoch {sel['selected_epoch']} on val ({sel['criterion']}); "
          f"mean train epoch {rec.timings['mean_epoch_train_seconds']:.2f}s")
    split = rec.protocol["eval_split"]
    print(f"{'lang':<6}{'dir':<5}{'R1':>7}{'R5':>7}{'R10':>7}{'MdR':>7}{'RSum':>8}   ({split})")
    for lang, r in rec.results.items():
        for dr in ("t2v", "v2t"):
            m = r[dr]
            print(f"{lang:<6}{dr:<5}{m['R1']:>7.1f}{m['R5']:>7.1f}{m['R10']:>7.1f}{m['MdR']:>7.1f}{m['RSum']:>8.1f}")
    print(f"run record: {a.out}/run.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
