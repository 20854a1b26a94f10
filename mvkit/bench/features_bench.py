"""`mvkit bench features`: is decoding hidden behind encoding, and what does caching buy?

One run on clips of the embedded world (or, when the world generator is not
installed, PyAV clips of the same shape: 64x64, 8 fps, 3 s, 16 kHz audio):

1. **decode-only**: the extractor's DataLoader (same workers, same ``frame_transform``)
   iterated without encoding;
2. **encode-only**: ``encode_batch`` on the pre-decoded batches, in the main process;
3. **pipeline**: ``extract_features`` end to end (decode in workers, encode in the main
   process, write the store). Target: ``pipeline <= 1.3 x max(decode, encode)``.
4. **head training per epoch**: a small retrieval head (mean-pooled frames and a text
   projection, symmetric InfoNCE) trained on cached features, against the same head fed
   by decoding and encoding every video every epoch (the CLIP4Clip way, here with the
   encoder frozen, so it is a lower bound on CLIP4Clip's cost).
5. **text extraction**: captions/s of a CLIP text tower (``--text-encoder``, default ViT-B-32
   with random weights) on every caption of a seeded sample of the world's videos, language by
   language as a store is built: the old way (every caption padded to the full context,
   batches in input order) against ``encode_captions`` (each distinct caption once, sorted by
   length, each batch cut to its longest caption, causal mask sliced). Target ``>= 3x``. The
   report gives the ratio for every language and for English alone, with the most padding
   alone could give (context / mean tokens: CLIP's byte-level BPE spends about three tokens
   per Devanagari or Tamil character), and the largest feature difference between the two.

Timings are wall-clock on this machine and include whatever else it is running; the
ratios are the claim.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

FULL = {"videos": 400, "epochs": 3, "batch_size": 16, "repeats": 3, "text_videos": 40}
QUICK = {"videos": 24, "epochs": 2, "batch_size": 8, "repeats": 1, "text_videos": 4}
TARGET_OVERLAP = 1.3
TARGET_TEXT = 3.0
TEXT_BATCH = 256          # encode_text's default batch


# --------------------------------------------------------------------------- inputs
def _fallback_clips(root: Path, n: int, seed: int = 0):
    """``n`` PyAV clips like the world's (moving square, tone or silence) as a dataset."""
    import av

    from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord

    rng = np.random.default_rng(seed)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    videos, caps = [], []
    for i in range(n):
        vid = f"clip{i:05d}"
        c = av.open(str(root / "videos" / f"{vid}.mp4"), "w")
        v = c.add_stream("libx264", rate=8)
        v.width = v.height = 64
        v.pix_fmt = "yuv420p"
        a = None
        if i % 4:
            a = c.add_stream("aac", rate=16000)
            a.layout = "mono"
        colour, x0, dx = rng.integers(0, 256, 3), rng.integers(0, 40), rng.integers(-3, 4)
        for t in range(24):
            img = np.full((64, 64, 3), 30, np.uint8)
            x = int(np.clip(x0 + dx * t, 0, 48))
            img[24:40, x:x + 16] = colour
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
        if a is not None:
            wave = (0.3 * np.sin(2 * np.pi * (200 + 50 * i % 2000) * np.arange(48000) / 16000)).astype(np.float32)
            for s in range(0, wave.size, 1024):
                fr = av.AudioFrame.from_ndarray(wave[None, s:s + 1024], format="fltp", layout="mono")
                fr.sample_rate, fr.pts = 16000, s
                for p in a.encode(fr):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
        c.close()
        videos.append(VideoRecord(vid, f"videos/{vid}.mp4", "train"))
        caps.append(CaptionRecord(f"{vid}-en", vid, "en", f"a square moving {dx} colour {colour.tolist()}"))
    return RetrievalDataset("bench-clips", root, videos, caps)


def load_clips(n: int, tmp: Path, quick: bool = False) -> tuple[object, str]:
    """The first ``n`` videos of the embedded world (English human captions), or fallback clips.

    The world comes from ``ensure_world`` (the smoke-size world with ``quick``), so it is
    generated once and reused by later runs.
    """
    try:
        from mvkit.data import load
        from mvkit.data.synth import SMOKE_VIDEOS, ensure_world
    except ImportError:
        return _fallback_clips(tmp / "clips", n), "PyAV fallback clips (world generator not installed)"
    world = ensure_world(n_videos=SMOKE_VIDEOS if quick else None)
    ds = load(world)
    keep = {v.video_id for v in ds.videos[:n]}
    from dataclasses import replace

    sub = replace(ds, videos=[v for v in ds.videos if v.video_id in keep],
                  captions=[c for c in ds.captions if c.video_id in keep and c.lang == "en" and c.kind == "human"],
                  partial_labels=[])
    return sub, f"embedded world {world.name}"


def load_encoder(name: str, pretrained: str | None) -> Any:
    """``create_encoder(name, pretrained)`` on CUDA if present, else CPU."""
    from mvkit.features.encoders import create_encoder

    return create_encoder(name, pretrained)


# --------------------------------------------------------------------------- timings
def _loader(ds, enc, num_frames: int, batch_size: int, workers: int):
    from torch.utils.data import DataLoader

    from mvkit.features.extract import _ClipDataset, _collate, _worker_init

    items = [(v.video_id, ds.video_path(v)) for v in ds.videos]
    data = _ClipDataset(items, num_frames, enc.frame_transform, audio="audio" in enc.streams)
    return DataLoader(data, batch_size=batch_size, collate_fn=_collate, num_workers=workers,
                      worker_init_fn=_worker_init if workers else None,
                      prefetch_factor=4 if workers else None)


def time_decode(ds: Any, enc: Any, num_frames: Any, batch_size: Any, workers: Any) -> Any:
    t0 = time.perf_counter()
    batches = list(_loader(ds, enc, num_frames, batch_size, workers))
    return time.perf_counter() - t0, batches


def time_encode(enc: Any, batches: Any, device: Any) -> Any:
    from mvkit.features.extract import _encode

    t0 = time.perf_counter()
    for vids, frames, mels, _ in batches:
        if vids:
            _encode(enc, frames, mels, vids, device)
    return time.perf_counter() - t0


def time_pipeline(ds: Any, enc: Any, out: Path, num_frames: Any, batch_size: Any, workers: Any) -> Any:
    from mvkit.features.extract import extract_features

    t0 = time.perf_counter()
    store = extract_features(ds, enc, out, num_frames=num_frames, batch_size=batch_size,
                             num_workers=workers, videos_per_shard=64, progress=False)
    return time.perf_counter() - t0, store


class _Head:
    """Mean-pool appearance frames, project video and text to 64-d, symmetric InfoNCE."""

    def __init__(self, video_dim: int, text_dim: int, seed: int = 0):
        import torch

        torch.manual_seed(seed)
        self.v = torch.nn.Linear(video_dim, 64)
        self.t = torch.nn.Linear(text_dim, 64)
        self.opt = torch.optim.AdamW(list(self.v.parameters()) + list(self.t.parameters()), lr=1e-3)

    def step(self, frames, mask, text) -> float:
        import torch
        import torch.nn.functional as F

        m = mask[..., None].float()
        pooled = (frames * m).sum(1) / m.sum(1).clamp_min(1)
        v = F.normalize(self.v(pooled), dim=-1)
        t = F.normalize(self.t(text), dim=-1)
        logits = t @ v.T / 0.05
        target = torch.arange(len(v))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return float(loss.detach())


def time_head_epochs(ds: Any, enc: Any, store: Any, num_frames: Any, batch_size: Any, workers: Any, epochs: Any, device: Any) -> Any:
    """Seconds per epoch: cached features vs decode + encode every epoch."""
    import torch

    from mvkit.features.extract import _encode, extract_text_features

    extract_text_features(ds, enc, store, langs=["en"], progress=False)
    cap_ids, text = store.text_features("en")
    first = {}
    for cid, c in zip(cap_ids, [c for c in ds.captions if c.lang == "en"]):
        first.setdefault(c.video_id, cid)
    row = {cid: i for i, cid in enumerate(cap_ids)}
    ids = [v for v in store.video_ids if v in first]
    text_of = lambda vids: torch.from_numpy(text[[row[first[v]] for v in vids]])

    head = _Head(store.dims["appearance"], text.shape[1])
    t0 = time.perf_counter()
    for _ in range(epochs):
        for s in range(0, len(ids), batch_size):
            b = ids[s:s + batch_size]
            f, m = store.stacked(b, "appearance")
            head.step(torch.from_numpy(f), torch.from_numpy(m), text_of(b))
    cached = (time.perf_counter() - t0) / epochs

    head = _Head(store.dims["appearance"], text.shape[1])
    keep = set(ids)
    t0 = time.perf_counter()
    for vids, frames, mels, _ in _loader(ds, enc, num_frames, batch_size, workers):   # one epoch
        outs = _encode(enc, frames, mels, vids, device) if vids else []
        pairs = [(v, o["appearance"]) for v, o in zip(vids, outs) if v in keep]
        if pairs:
            f = torch.from_numpy(np.stack([a for _, a in pairs]))
            head.step(f, torch.ones(f.shape[:2], dtype=torch.bool), text_of([v for v, _ in pairs]))
    redecode = time.perf_counter() - t0
    return cached, redecode


def load_captions(n_videos: int, quick: bool = False, seed: int = 0) -> tuple[dict[str, list[str]], str]:
    """Every caption (all languages and kinds) of a seeded sample of ``n_videos`` videos of the
    embedded world, by language: what the text extraction of a store of those videos encodes."""
    from mvkit.data import load
    from mvkit.data.synth import SMOKE_VIDEOS, ensure_world

    world = ensure_world(n_videos=SMOKE_VIDEOS if quick else None)
    ds = load(world)
    pick = np.random.default_rng(seed).permutation(len(ds.videos))[:n_videos]
    keep = {ds.videos[i].video_id for i in pick}
    by_lang: dict[str, list[str]] = {}
    for c in ds.captions:
        if c.video_id in keep:
            by_lang.setdefault(c.lang, []).append(c.text)
    return by_lang, f"{n_videos} videos of the embedded world {world.name}"


def full_context_features(enc: Any, texts: list[str], lang: str, batch_size: int = TEXT_BATCH):
    """The old text extraction of one language: every caption padded to the full context,
    ``batch_size`` captions at a time in input order."""
    import torch

    parts = []
    with torch.inference_mode():
        for s in range(0, len(texts), batch_size):
            tok = enc.tokenize(texts[s:s + batch_size], lang, full_context=True).to(enc.device)
            parts.append(enc.text_clip.encode_text(tok).float().cpu())
    return torch.cat(parts)


def time_text(enc: Any, by_lang: dict[str, list[str]], batch_size: int = TEXT_BATCH) -> dict:
    """Seconds per language of the old extraction (full context, input order) and of today's
    (:func:`mvkit.features.extract.encode_captions`: distinct captions, sorted, trimmed batches),
    same captions, same run, with the largest feature difference between the two."""
    import torch

    from mvkit.features.extract import encode_captions

    encode_captions(enc, next(iter(by_lang.values()))[:8], "en", batch_size)        # warm-up
    per: dict[str, dict[str, float]] = {}
    diff = scale = 0.0
    for lang, texts in by_lang.items():
        t0 = time.perf_counter()
        before = full_context_features(enc, texts, lang, batch_size)
        t1 = time.perf_counter()
        after = torch.from_numpy(encode_captions(enc, texts, lang, batch_size))
        t2 = time.perf_counter()
        tokens = int((enc.tokenize(texts, lang, full_context=True) != enc.pad_id).sum())
        per[lang] = {"captions": len(texts), "tokens": tokens, "before_s": t1 - t0, "after_s": t2 - t1}
        diff, scale = max(diff, float((before - after).abs().max())), max(scale, float(before.abs().max()))
    context = int(enc.tokenize(["a"], "en", full_context=True).shape[1])

    def summary(langs: list[str]) -> dict[str, Any]:
        n = sum(per[l]["captions"] for l in langs)
        tb, ta = sum(per[l]["before_s"] for l in langs), sum(per[l]["after_s"] for l in langs)
        tok = sum(per[l]["tokens"] for l in langs)
        return {"captions": n, "mean_tokens": round(tok / n, 1), "padding_bound": round(n * context / tok, 2),
                "before_captions_per_s": round(n / tb, 1), "after_captions_per_s": round(n / ta, 1),
                "speedup": round(tb / ta, 2), "meets_target": bool(tb / ta >= TARGET_TEXT)}
    return {"text_encoder": enc.text_name or enc.name, "context": context, "target_speedup": TARGET_TEXT,
            "all": summary(list(per)), "en": summary(["en"]) if "en" in per else None, "per_lang": per,
            "max_abs_diff": diff, "max_abs_feature": scale,
            "same_features": bool(diff <= 1e-4 * max(scale, 1.0))}


def report_text(res: dict) -> str:
    """The text-extraction lines of the report."""
    lines = [(f"  text extraction, {res['text_encoder']} text tower (context {res['context']}): full-context "
              "padding in input order -> distinct captions, sorted, trimmed batches")]
    for key, what in (("all", "every language"), ("en", "English")):
        r = res.get(key)
        if not r:
            continue
        target = "met" if r["meets_target"] else "NOT met"
        lines.append(f"    {what:<15} {r['captions']:5d} captions, mean {r['mean_tokens']:5.1f} tokens: "
                     f"{r['before_captions_per_s']:7.1f} -> {r['after_captions_per_s']:7.1f} captions/s = "
                     f"{r['speedup']:.2f}x (target >= {TARGET_TEXT:g}x: {target}; padding alone can give at most "
                     f"{r['padding_bound']:.2f}x)")
    lines.append(f"    same features: {res['same_features']} (max |difference| {res['max_abs_diff']:.2e} of "
                 f"features up to {res['max_abs_feature']:.2f})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- run
def run(ds: Any, enc: Any, source: str, num_frames: int = 8, batch_size: int = 16, workers: int | None = None,
        epochs: int = 3, repeats: int = 1) -> dict:
    """Time decode-only, encode-only, the pipeline and head epochs on ``ds``; return the figures.

    The three extraction timings are interleaved ``repeats`` times and the best of each
    is kept, so a burst of load from other processes does not decide the ratio.
    """
    import torch

    from mvkit.features.extract import default_num_workers

    workers = default_num_workers() if workers is None else workers
    device = torch.device(getattr(enc, "device", "cpu"))
    t_decode = t_encode = t_pipe = float("inf")
    with tempfile.TemporaryDirectory(prefix="mvkit-bench-") as tmp:
        # warm-up: one batch through decode + encode (lazy inits, thread pools)
        first = next(iter(_loader(ds, enc, num_frames, batch_size, 0)))
        if first[0]:
            time_encode(enc, [first], device)
        for r in range(max(1, repeats)):
            dt, batches = time_decode(ds, enc, num_frames, batch_size, workers)
            t_decode = min(t_decode, dt)
            t_encode = min(t_encode, time_encode(enc, batches, device))
            del batches
            dt, store = time_pipeline(ds, enc, Path(tmp) / f"store{r}", num_frames, batch_size, workers)
            t_pipe = min(t_pipe, dt)
        cached, redecode = time_head_epochs(ds, enc, store, num_frames, batch_size, workers, epochs, device)
    overlap = t_pipe / max(t_decode, t_encode)
    return {
        "source": source, "encoder": enc.name, "device": str(device),
        "videos": len(ds.videos), "frames": num_frames, "batch_size": batch_size, "workers": workers,
        "decode_s": round(t_decode, 3), "encode_s": round(t_encode, 3), "pipeline_s": round(t_pipe, 3),
        "pipeline_over_max": round(overlap, 3), "target_pipeline_over_max": TARGET_OVERLAP,
        "meets_target": bool(overlap <= TARGET_OVERLAP),
        "head_epoch_cached_s": round(cached, 4), "head_epoch_redecode_s": round(redecode, 3),
        "redecode_over_cached": round(redecode / cached, 1),
        "repeats": max(1, repeats),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, cpu_count={os.cpu_count()}",
    }


def report(res: dict) -> str:
    """The human-readable table of :func:`run`'s figures."""
    n = res["videos"]
    head = (f"mvkit bench features: {n} clips from {res['source']}; encoder {res['encoder']} on "
            f"{res['device']}; {res['frames']} frames, batch {res['batch_size']}, {res['workers']} "
            f"decoding worker(s); best of {res['repeats']}; {res['machine']}")
    target = "met" if res["meets_target"] else "NOT met"
    pipe = (f"  full pipeline    {res['pipeline_s']:8.2f} s  = {res['pipeline_over_max']:.2f} x "
            f"max(decode, encode)  (target <= {TARGET_OVERLAP}: {target})")
    c4c = (f"  head epoch, decode+encode (C4C way)  {res['head_epoch_redecode_s']:8.3f} s  = "
           f"{res['redecode_over_cached']}x the cached epoch")
    return "\n".join([
        head,
        f"  decode only      {res['decode_s']:8.2f} s  ({n / res['decode_s']:7.1f} clips/s)",
        f"  encode only      {res['encode_s']:8.2f} s  ({n / res['encode_s']:7.1f} clips/s)",
        pipe,
        f"  head epoch, cached features          {res['head_epoch_cached_s']:8.3f} s",
        c4c,
    ])


# --------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="mvkit bench features", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few clips, for tests")
    ap.add_argument("--videos", type=int, default=None, help="number of clips")
    ap.add_argument("--encoder", default="mvkit-tiny")
    ap.add_argument("--pretrained", default=None)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--workers", type=int, default=None, help="decoding workers (default: cores - 1)")
    ap.add_argument("--epochs", type=int, default=None, help="head-training epochs on cached features")
    ap.add_argument("--repeats", type=int, default=None, help="best of this many interleaved timings")
    ap.add_argument("--text-videos", type=int, default=None, help="videos whose captions the text timing encodes")
    ap.add_argument("--text-encoder", default="ViT-B-32",
                    help="open_clip model whose text tower the text timing uses ('none' skips it)")
    ap.add_argument("--text-pretrained", default=None, help="its weights (default: random, seeded)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)

    cfg = dict(QUICK if args.quick else FULL)
    for k in ("videos", "epochs", "batch_size", "repeats", "text_videos"):
        if getattr(args, k) is not None:
            cfg[k] = getattr(args, k)
    with tempfile.TemporaryDirectory(prefix="mvkit-bench-clips-") as tmp:
        ds, source = load_clips(cfg["videos"], Path(tmp), quick=args.quick)
        enc = load_encoder(args.encoder, args.pretrained)
        res = run(ds, enc, source, args.frames, cfg["batch_size"], args.workers, cfg["epochs"], cfg["repeats"])
    print(report(res))
    if args.text_encoder.lower() != "none":
        captions, source = load_captions(cfg["text_videos"], quick=args.quick)
        res["text"] = {**time_text(load_encoder(args.text_encoder, args.text_pretrained), captions), "source": source}
        print(report_text(res["text"]))
    if args.out:
        from mvkit.io import atomic_write_json

        atomic_write_json(args.out, res)
        print(f"  results -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
