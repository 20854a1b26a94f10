"""``mvkit pretrain-tiny``: rebuild the shipped mvkit-tiny backbone from scratch.

Recipe (docs/backbone.md):

1. Make (or reuse) a *separate* pretraining world (seed 1000, 2,400 videos) so the
   benchmark world's splits never leak into the backbone.
2. Learn the BPE vocabulary on that world's captions in **all** languages.
3. Decode every video once into memory (8 frames, log-mel).
4. Train CLIP-style on the **English** captions only: one InfoNCE (mvkit.losses,
   semantic duplicates masked as positives) per stream (appearance, motion, audio)
   against the text tower, plus one on the fused similarity (sum of the three).
5. Save the open_clip part, the towers, the tokenizer, a training log and the
   held-out recall on the benchmark world's test split, into the asset folder.

Deterministic for a given seed and thread count on CPU.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mvkit import backbone as bb
from mvkit.io import atomic_path, atomic_write_json, read_json

PRETRAIN_SEED = 1000
PRETRAIN_VIDEOS = 2400
NUM_FRAMES = 8


# ---------------------------------------------------------------------------- data
def decode_world(ds: Any, num_frames: int = NUM_FRAMES, mel_len: int | None = None, desc: str = "decode") -> Any:
    """Decode every video of ``ds`` once: ``(video_ids, frames uint8 [N,T,H,W,3],
    log_mel float32 [N, n_mels, L], has_audio bool [N])``. Log-mels are cut or padded
    (with the silence value) to a common length ``L`` (default: the median length);
    corrupt videos are left out and reported."""
    from tqdm.auto import tqdm

    from mvkit.features.audio import LOG_EPS
    from mvkit.features.decode import CorruptVideoError, decode_clip

    ids, frames, mels = [], [], []
    for v in tqdm(ds.videos, desc=desc, mininterval=5):
        try:
            clip = decode_clip(ds.video_path(v), num_frames=num_frames, audio=True)
        except CorruptVideoError as e:
            print(f"skipping {v.video_id}: {e}")
            continue
        ids.append(v.video_id)
        frames.append(clip.frames)
        mels.append(clip.log_mel)
    lengths = [m.shape[1] for m in mels if m is not None]
    n_mels = next((m.shape[0] for m in mels if m is not None), 64)
    L = int(mel_len or (int(np.median(lengths)) if lengths else 300))
    silence = math.log(LOG_EPS)
    out = np.full((len(ids), n_mels, L), silence, dtype=np.float32)
    has_audio = np.zeros(len(ids), dtype=bool)
    for i, m in enumerate(mels):
        if m is not None:
            k = min(L, m.shape[1])
            out[i, :, :k] = m[:, :k]
            has_audio[i] = True
    return ids, np.stack(frames), out, has_audio


def decode_cached(ds: Any, key: str, num_frames: int = NUM_FRAMES, desc: str = "decode") -> Any:
    """:func:`decode_world` once per (world, subset, frames), kept as an ``.npz`` under
    ``mvkit_home()/cache/decoded/`` so re-running the recipe skips decoding (the arrays
    are the same either way: decoding is deterministic)."""
    from mvkit.paths import mvkit_home

    path = mvkit_home() / "cache" / "decoded" / f"{key}-f{num_frames}.npz"
    if path.is_file():
        z = np.load(path)
        return [str(i) for i in z["ids"]], z["frames"], z["mels"], z["has_audio"]
    ids, frames, mels, has_audio = decode_world(ds, num_frames, desc=desc)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, ids=np.array(ids), frames=frames, mels=mels, has_audio=has_audio)
    return ids, frames, mels, has_audio


def positives_mask(captions: Any, videos: Any) -> np.ndarray:
    """``pos[i, j]``: caption i describes video j -- its own video or any video the world's
    ground truth says it fits equally (``semantic_positives``), so duplicates are never
    pushed apart."""
    from mvkit.data.attributes import semantic_positives

    own = np.array([[c.video_id == v.video_id for v in videos] for c in captions], dtype=bool)
    return np.asarray(semantic_positives(captions, videos), dtype=bool) | own


# ---------------------------------------------------------------------------- model
class TinyModel(torch.nn.Module):
    """open_clip mvkit-tiny + stream towers, with the per-stream video embeddings the
    zero-shot evaluation and the loss use."""

    def __init__(self, clip: Any, towers: Any):
        super().__init__()
        self.clip = clip
        self.towers = towers

    def video_streams(self, frames: torch.Tensor, mels: torch.Tensor, app_frames: torch.Tensor | None = None) -> Any:
        """L2-normalised clip-level embeddings ``(appearance, motion, audio)`` each [B, D]."""
        b = frames.shape[0]
        x = frames if app_frames is None else app_frames
        img = F.normalize(self.clip.encode_image(x.flatten(0, 1)), dim=-1).view(b, x.shape[1], -1)
        app = F.normalize(img.mean(1), dim=-1)
        mot = F.normalize(self.towers.motion(frames).mean(1), dim=-1)
        aud = F.normalize(self.towers.audio(mels).mean(1), dim=-1)
        return app, mot, aud

    def text(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.clip.encode_text(tokens), dim=-1)


def fused_similarity(t: Any, app: Any, mot: Any, aud: Any, has_audio: Any) -> torch.Tensor:
    """The zero-shot fused score: sum of the per-stream cosines; silent videos add no audio term."""
    return t @ app.T + t @ mot.T + (t @ aud.T) * has_audio[None, :].to(t.dtype)


def _to_float(frames_u8: np.ndarray, mean: float = 0.5, std: float = 0.25) -> torch.Tensor:
    x = torch.from_numpy(frames_u8).permute(0, 1, 4, 2, 3).float().div_(255.0)
    return (x - mean) / std


# ---------------------------------------------------------------------------- eval
def recall_table(sim: np.ndarray, own: np.ndarray, sem: np.ndarray) -> dict:
    """Text->video recall through :mod:`mvkit.metrics` (pessimistic ties): R@1/5/10, MdR
    against the caption's own video; ``semantic_*`` counting any semantic positive as a
    hit; and the world's ceiling -- a perfect model ranks the ``n`` semantic positives
    first in random order, so its expected own-video R@k is ``mean(min(1, k/n))``."""
    from mvkit.metrics import ranks, summarize

    sim_t = torch.as_tensor(sim, dtype=torch.float32)
    own_r = summarize(ranks(sim_t, torch.as_tensor(own.argmax(1))))
    sem_r = summarize(ranks(sim_t, torch.as_tensor(sem | own)))
    n_sem = (sem | own).sum(1)
    out = {k: own_r[k] for k in ("R1", "R5", "R10", "MdR")}
    out.update({f"semantic_{k}": sem_r[k] for k in ("R1", "R5", "R10")})
    out.update({f"ceiling_R{k}": float(100 * np.minimum(1.0, k / n_sem).mean()) for k in (1, 5, 10)})
    out["n_queries"], out["n_videos"] = int(sim.shape[0]), int(sim.shape[1])
    return out


@torch.no_grad()
def evaluate(model: TinyModel, tokenizer: Any, ds: Any, split: str = "test", langs: Any=None,
             decoded: Any=None, batch: int = 64) -> dict:
    """Zero-shot text->video recall on ``ds``'s ``split``: appearance only (mean-pooled
    frames) and the fused sum of appearance + motion + audio, per caption language."""
    model.eval()
    sub = ds.subset(split=split, kinds=["human"])
    ids, frames, mels, has_audio = decoded or decode_cached(
        sub, f"{Path(str(ds.root)).name}-{split}", desc=f"decode {split}")
    vid_index = {v: i for i, v in enumerate(ids)}
    videos = [v for v in sub.videos if v.video_id in vid_index]
    videos.sort(key=lambda v: vid_index[v.video_id])
    embs = [[], [], []]
    for i in range(0, len(ids), batch):
        f = _to_float(frames[i:i + batch])
        for k, e in enumerate(model.video_streams(f, torch.from_numpy(mels[i:i + batch]))):
            embs[k].append(e)
    app, mot, aud = (torch.cat(e) for e in embs)
    ha = torch.from_numpy(has_audio)
    result = {}
    for lang in (langs or sub.languages):
        caps = [c for c in sub.captions if c.lang == lang and c.video_id in vid_index]
        if not caps:
            continue
        t = torch.cat([model.text(tokenizer([c.text for c in caps[i:i + 256]]))
                       for i in range(0, len(caps), 256)])
        own = np.array([[vid_index[c.video_id] == j for j in range(len(ids))] for c in caps])
        sem = positives_mask(caps, videos)
        result[lang] = {
            "appearance": recall_table((t @ app.T).numpy(), own, sem),
            "fused": recall_table(fused_similarity(t, app, mot, aud, ha).numpy(), own, sem),
        }
    return result


def _save(out: Path, clip, towers, scfg, cfg: dict, log: dict) -> None:
    """Write the open_clip part (loadable by ``open_clip.create_model``), the towers, their
    config and the training log, each atomically."""
    from safetensors.torch import save_file

    with atomic_path(out / bb.CLIP_WEIGHTS) as tmp:
        save_file({k: v.detach().contiguous() for k, v in clip.state_dict().items()}, str(tmp))
    with atomic_path(out / bb.STREAM_WEIGHTS) as tmp:
        save_file({k: v.detach().contiguous() for k, v in towers.state_dict().items()}, str(tmp))
    atomic_write_json(out / bb.STREAMS_CONFIG, scfg.to_dict())
    if out.resolve() != bb.ASSET_DIR.resolve():
        atomic_write_json(out / f"{bb.TINY_NAME}.json", cfg)
        atomic_write_json(out / "open_clip_config.json", read_json(bb.ASSET_DIR / "open_clip_config.json"))
    atomic_write_json(out / "training_log.json", log)


def _heldout(model: TinyModel, tokenizer, args) -> dict:
    """Zero-shot recall on the benchmark world's test split (every caption language)."""
    from mvkit import data as mdata

    if args.eval_world is None:
        from mvkit.data.synth import ensure_world

        args.eval_world = ensure_world()
    t0 = time.time()
    rec = evaluate(model, tokenizer, mdata.load(args.eval_world), "test")
    for lang, r in rec.items():
        print(lang, {k: {m: round(v, 1) for m, v in d.items()
                         if m in ("R1", "R5", "R10", "semantic_R1", "ceiling_R1")} for k, d in r.items()})
    return {"world": str(args.eval_world), "split": "test", "seconds": round(time.time() - t0, 1),
            "protocol": "zero-shot text->video, pessimistic ties, all human captions of each language",
            "recall": rec}


def report_markdown(log: dict) -> str:
    """The held-out table of a training log as Markdown (for docs/backbone.md)."""
    rec = log["heldout"]["recall"]
    lines = [("| lang | appearance R@1 / R@5 / R@10 | fused R@1 / R@5 / R@10 | fused MdR | "
              "fused semantic R@1 | ceiling R@1 | queries |"), "| --- | --- | --- | --- | --- | --- | --- |"]
    for lang in sorted(rec, key=lambda x: (x != "en", x)):
        a, f = rec[lang]["appearance"], rec[lang]["fused"]
        lines.append(f"| {lang} | {a['R1']:.1f} / {a['R5']:.1f} / {a['R10']:.1f} | "
                     f"{f['R1']:.1f} / {f['R5']:.1f} / {f['R10']:.1f} | {f['MdR']:.0f} | "
                     f"{f['semantic_R1']:.1f} | {f['ceiling_R1']:.1f} | {f['n_queries']} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- train
def pretraining_dataset(world: Path | None = None, max_videos: int | None = None) -> tuple[Path, Any]:
    """``(world folder, dataset)`` of the pretraining world (made once: seed 1000, 2,400 videos),
    cut to its first ``max_videos`` videos for smoke runs. Shared by both pretraining recipes."""
    from mvkit import data as mdata

    if world is None:
        from mvkit.data.synth import ensure_world

        world = ensure_world(n_videos=PRETRAIN_VIDEOS, seed=PRETRAIN_SEED)
    ds = mdata.load(world)
    if max_videos:
        keep = {v.video_id for v in ds.videos[:max_videos]}
        ds = replace(ds, videos=[v for v in ds.videos if v.video_id in keep],
                     captions=[c for c in ds.captions if c.video_id in keep], partial_labels=[])
    return Path(world), ds


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mvkit pretrain-tiny", description=__doc__.split("\n\n")[0])
    p.add_argument("--world", type=Path, default=None,
                   help=f"pretraining world dir (default: ensure_world({PRETRAIN_VIDEOS}, seed={PRETRAIN_SEED}))")
    p.add_argument("--eval-world", type=Path, default=None,
                   help="benchmark world for held-out recall (default: ensure_world())")
    p.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")
    p.add_argument("--eval-only", action="store_true",
                   help="only (re)measure the held-out recall of the checkpoint in --out")
    p.add_argument("--out", type=Path, default=bb.ASSET_DIR, help="output folder (default: the shipped assets)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--stop-after", type=int, default=None,
                   help="stop after this many epochs of the --epochs schedule (every epoch saves "
                        "a snapshot; default: the whole schedule, which is the shipped checkpoint)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--app-frames", type=int, default=1, help="frames per video through the ViT per step")
    p.add_argument("--vocab-size", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-videos", type=int, default=None, help="use only the first N videos (smoke runs)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``mvkit pretrain-tiny``; returns 0 on success."""
    import open_clip

    from mvkit._setup import setup
    from mvkit.backbone.tokenizer import TinyTokenizer, save_tokenizer, train_tokenizer
    from mvkit.backbone.towers import StreamsConfig, StreamTowers
    from mvkit.losses import InfoNCE

    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    setup(args.seed, device="cpu")
    t_start = time.time()
    if args.eval_only:
        parts = bb.load_tiny(args.out)
        log_path = Path(args.out) / "training_log.json"
        log = read_json(log_path) if log_path.is_file() else {}
        log["heldout"] = _heldout(TinyModel(parts.clip, parts.towers), parts.tokenizer, args)
        atomic_write_json(log_path, log)
        return 0
    args.world, ds = pretraining_dataset(args.world, args.max_videos)
    cfg = bb.tiny_model_config()
    ctx = cfg["text_cfg"]["context_length"]
    vocab = args.vocab_size or cfg["text_cfg"]["vocab_size"]

    # 1. tokenizer on every language's captions (the text tower will only learn English)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # (translate-test captions, world v3, are left out: the vocabulary stays the v2 one)
    tok_obj = train_tokenizer((c.text for c in ds.captions if not c.is_translate_test), vocab_size=vocab)
    if tok_obj.get_vocab_size() > cfg["text_cfg"]["vocab_size"]:
        raise ValueError(f"tokenizer has {tok_obj.get_vocab_size()} tokens > model vocab {cfg['text_cfg']['vocab_size']}")
    save_tokenizer(tok_obj, out, ctx)
    tokenizer = TinyTokenizer(out / bb.TOKENIZER_FILE, ctx)
    # human English captions only: back-translations (en->xx->en) belong to the
    # cross-lingual pipelines studied on top of the backbone, not to its pretraining
    en_caps = [c for c in ds.captions if c.lang == "en" and c.kind == "human"]
    lens = [len(x) for x in tokenizer.encode_ids([c.text for c in ds.captions if not c.is_translate_test])]
    print(f"tokenizer: {tok_obj.get_vocab_size()} tokens; caption length mean {np.mean(lens):.1f} "
          f"max {max(lens)} (context {ctx}); {len(en_caps)} English captions")

    # 2. decode once
    t0 = time.time()
    key = Path(args.world).name + (f"-first{args.max_videos}" if args.max_videos else "")
    ids, frames_u8, mels, has_audio = decode_cached(ds, key, desc="decode pretraining world")
    t_decode = time.time() - t0
    vindex = {v: i for i, v in enumerate(ids)}
    videos = [v for v in ds.videos if v.video_id in vindex]
    videos.sort(key=lambda v: vindex[v.video_id])
    audio_vals = mels[has_audio]
    scfg = StreamsConfig(embed_dim=cfg["embed_dim"], n_mels=mels.shape[1],
                         audio_mean=float(audio_vals.mean()) if len(audio_vals) else -6.0,
                         audio_std=float(audio_vals.std()) if len(audio_vals) else 4.0)
    caps_of: dict[int, list] = {}
    for c in en_caps:
        if c.video_id in vindex:
            caps_of.setdefault(vindex[c.video_id], []).append(c)
    train_idx = np.array(sorted(caps_of))
    print(f"decoded {len(ids)} videos in {t_decode:.1f}s ({has_audio.mean():.0%} with audio); "
          f"{len(train_idx)} with English captions")

    # 3. model through open_clip's factory + towers
    bb.register_config()
    clip = open_clip.create_model(bb.TINY_NAME)
    towers = StreamTowers(scfg)
    model = TinyModel(clip, towers)
    losses = torch.nn.ModuleDict({k: InfoNCE(temperature=0.07, learnable=True)
                                  for k in ("fused", "appearance", "motion", "audio")})
    params = list(model.parameters()) + list(losses.parameters())
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    steps_per_epoch = max(1, len(train_idx) // args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))))
    gen = np.random.default_rng(args.seed)
    log = {"recipe": vars(args) | {"world": str(args.world), "out": str(args.out),
                                   "eval_world": str(args.eval_world)},
           "decode_seconds": t_decode, "n_videos": len(ids), "n_en_captions": len(en_caps),
           "vocab_size": tok_obj.get_vocab_size(), "epochs": []}
    t_train = time.time()
    for epoch in range(min(args.epochs, args.stop_after or args.epochs)):
        model.train()
        order = gen.permutation(train_idx)
        sums, n = {k: 0.0 for k in losses}, 0
        for s in range(steps_per_epoch):
            bidx = np.sort(order[s * args.batch_size:(s + 1) * args.batch_size])
            caps = [caps_of[i][gen.integers(len(caps_of[i]))] for i in bidx]
            pos = torch.from_numpy(positives_mask(caps, [videos[i] for i in bidx]))
            frames = _to_float(frames_u8[bidx])
            pick = np.sort(np.stack([gen.choice(frames.shape[1], args.app_frames, replace=False)
                                     for _ in bidx]), axis=1)
            app_frames = frames[torch.arange(len(bidx))[:, None], torch.from_numpy(pick)]
            app, mot, aud = model.video_streams(frames, torch.from_numpy(mels[bidx]), app_frames)
            t = model.text(tokenizer([c.text for c in caps]))
            ha = torch.from_numpy(has_audio[bidx])
            parts = {
                "fused": losses["fused"](fused_similarity(t, app, mot, aud, ha), pos),
                "appearance": losses["appearance"](t @ app.T, pos),
                "motion": losses["motion"](t @ mot.T, pos),
            }
            if ha.sum() >= 2:
                parts["audio"] = losses["audio"]((t @ aud.T)[ha][:, ha], pos[ha][:, ha])
            loss = parts["fused"] + sum(v for k, v in parts.items() if k != "fused") / 3
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            for k, v in parts.items():
                sums[k] += float(v.detach())
            n += 1
        row = {"epoch": epoch + 1, "seconds": round(time.time() - t_train, 1),
               "lr": sched.get_last_lr()[0], **{f"loss_{k}": round(v / n, 4) for k, v in sums.items()}}
        log["epochs"].append(row)
        print(json.dumps(row))
        _save(out, clip, towers, scfg, cfg, log)
    log["train_seconds"] = round(time.time() - t_train, 1)

    # 4. final save (also written after every epoch, so a stopped run leaves a usable snapshot)
    model.eval()
    _save(out, clip, towers, scfg, cfg, log)

    # 5. held-out zero-shot recall on the benchmark world's test split
    if not args.no_eval:
        log["heldout"] = _heldout(model, tokenizer, args)
    log["total_seconds"] = round(time.time() - t_start, 1)
    atomic_write_json(out / "training_log.json", log)
    print(f"saved mvkit-tiny to {out} in {log['total_seconds']:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
