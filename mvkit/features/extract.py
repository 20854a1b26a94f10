"""Decode every video once, encode it, cache the features: ``mvkit extract``.

DataLoader workers decode clips and apply the encoder's ``frame_transform`` while the
main process encodes the previous batch, so decoding and encoding overlap. The video
list is cut into fixed shards (``videos_per_shard``) planned before anything runs;
each shard is written atomically, so a killed run resumes at the first unfinished
shard and ends with the same arrays as an uninterrupted one. ``--shard i/n`` (or the
``RANK``/``WORLD_SIZE`` of torchrun) gives process ``i`` the shards ``k % n == i``.
Corrupt, truncated or missing videos are skipped and listed in ``report.json``, and so are
videos whose record says they have sound (``has_audio``) but whose file has no audio stream.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import mvkit
from mvkit.features.audio import HOP_LENGTH, N_MELS, SAMPLE_RATE, WIN_LENGTH
from mvkit.features.decode import CorruptVideoError, decode_clip
from mvkit.features.store import FeatureStore, StoreWriter, open_store, write_text_features

SAMPLING = "uniform-middle"   # middle frame of N equal segments (X-Pool)


# --------------------------------------------------------------------------- helpers
def default_num_workers() -> int:
    """One decoding worker per spare core (the main process encodes), at most 8."""
    return max(1, min(8, (os.cpu_count() or 1) - 1))


def resolve_shard(shard: tuple[int, int] | str | None) -> tuple[int, int]:
    """``(i, n)`` from an argument, ``"i/n"``, or torchrun's ``RANK``/``WORLD_SIZE``."""
    if isinstance(shard, str):
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", shard)
        if not m:
            raise ValueError(f"--shard must look like i/n (e.g. 0/4), got {shard!r}")
        shard = (int(m.group(1)), int(m.group(2)))
    if shard is None:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        shard = (int(os.environ.get("RANK", "0")), world) if world > 1 else (0, 1)
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"shard {i}/{n}: need 0 <= i < n")
    return int(i), int(n)


def video_provenance(encoder: Any, num_frames: int, dtype: str) -> dict[str, Any]:
    """What makes two stores comparable: encoder identity, weights, sampling, version."""
    return {
        "encoder": encoder.name,
        "pretrained": encoder.pretrained,
        "weights_sha256": encoder.weights_sha256,
        "video_weights_sha256": getattr(encoder, "video_weights_sha256", None),
        "streams": {s: int(d) for s, d in encoder.streams.items()},
        "encoder_provenance": encoder.provenance(),
        "num_frames": int(num_frames),
        "sampling": SAMPLING,
        "audio": {"sample_rate": SAMPLE_RATE, "win_length": WIN_LENGTH,
                  "hop_length": HOP_LENGTH, "n_mels": N_MELS},
        "dtype": dtype,
        "mvkit_version": mvkit.__version__,
    }


def text_provenance(encoder: Any) -> dict[str, Any]:
    """Identity of the text side of ``encoder`` (stored per language)."""
    return {"encoder": encoder.name, "pretrained": encoder.pretrained,
            "weights_sha256": encoder.weights_sha256, "text_dim": int(encoder.text_dim),
            "encoder_provenance": encoder.provenance(), "mvkit_version": mvkit.__version__}


def plan_shards(video_ids: Sequence[str], videos_per_shard: int) -> list[list[str]]:
    """Cut the video list, in order, into shards of ``videos_per_shard`` ids."""
    if videos_per_shard < 1:
        raise ValueError("videos_per_shard must be >= 1")
    ids = list(video_ids)
    return [ids[s:s + videos_per_shard] for s in range(0, len(ids), videos_per_shard)]


class _ClipDataset:
    """Map-style dataset: index -> (video_id, frames Tensor | None, log_mel, skip reason).

    Runs in DataLoader workers; a corrupt video comes back with a reason instead of
    raising, so one bad file never stops an extraction.
    """

    def __init__(self, items: list[tuple[str, Path | None]], num_frames: int, transform, audio: bool):
        self.items, self.num_frames, self.transform, self.audio = items, num_frames, transform, audio

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        vid, path = self.items[i]
        if path is None:
            return vid, None, None, "missing: the dataset gives no path"
        try:
            clip = decode_clip(path, self.num_frames, audio=self.audio)
        except CorruptVideoError as e:
            return vid, None, None, f"{e.reason}: {e}"
        return vid, self.transform(clip.frames), clip.log_mel, None


def _collate(batch):
    """Stack the decodable clips; keep the skip reasons of the others."""
    import torch

    good = [b for b in batch if b[3] is None]
    frames = torch.stack([b[1] for b in good]) if good else None
    return ([b[0] for b in good], frames, [b[2] for b in good],
            {b[0]: b[3] for b in batch if b[3] is not None})


def _die_with_parent() -> None:
    """Linux: ask the kernel to SIGKILL this process when its parent dies (PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))   # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:   # the parent died before prctl took effect
        os._exit(1)


def _worker_init(_: int) -> None:
    """Set up a decoding worker: dies with its parent; one thread (torch and NumPy's BLAS).

    A worker of a SIGKILLed extraction would otherwise linger forever, blocked on its
    result pipe. Multi-threaded BLAS on a tiny mel projection, with every core already
    busy, is ~10x slower than one thread; the cores belong to the workers and the encoder.
    """
    import torch

    _die_with_parent()
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:   # optional: without it NumPy keeps its default thread count
        return
    threadpool_limits(1)


# --------------------------------------------------------------------------- extraction
def extract_features(dataset: Any, encoder: Any, out_dir: str | os.PathLike, num_frames: int = 8,
                     shard: tuple[int, int] | str | None = None, batch_size: int = 16,
                     num_workers: int | None = None, resume: bool = True, device: Any=None,
                     videos_per_shard: int = 256, dtype: str = "float32",
                     progress: bool = True) -> FeatureStore | None:
    """Decode, encode and cache every video of ``dataset`` into the store at ``out_dir``.

    Returns the opened store, or ``None`` when this process handled its part of a split
    extraction (``shard``) and other parts are still missing (under torchrun, with a process
    group, the ranks wait for each other and rank 0 alone finishes and returns the store). With ``resume`` finished
    shards are kept; without it an existing store is an error. Raises
    :class:`~mvkit.features.store.ProvenanceMismatch` if ``out_dir`` holds another
    encoder's (or sampling's) features, and ``FloatingPointError`` if the encoder
    produces NaN/inf.
    """
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    if not resume and (out_dir / "provenance.json").exists():
        raise FileExistsError(f"{out_dir}: a store exists; pass resume=True or use another folder")
    i, n = resolve_shard(shard)
    plan = plan_shards([v.video_id for v in dataset.videos], videos_per_shard)
    writer = StoreWriter(out_dir, video_provenance(encoder, num_frames, dtype), plan)
    writer.clean_stale()
    mine = [k for k in writer.pending() if k % n == i]

    if mine:
        paths = {v.video_id: dataset.video_path(v) for v in dataset.videos}
        audio = "audio" in encoder.streams
        sound = {v.video_id for v in dataset.videos if v.has_audio} if audio else set()
        items, batches, meta = [], [], []   # meta[b] = (shard k, is last batch of k)
        for k in mine:
            start = len(items)
            items += [(vid, paths[vid]) for vid in plan[k]]
            idx = list(range(start, len(items)))
            chunks = [idx[s:s + batch_size] for s in range(0, len(idx), batch_size)]
            batches += chunks
            meta += [(k, j == len(chunks) - 1) for j in range(len(chunks))]
        dev = torch.device(device) if device is not None else torch.device(getattr(encoder, "device", "cpu"))
        workers = default_num_workers() if num_workers is None else int(num_workers)
        data = _ClipDataset(items, num_frames, encoder.frame_transform, audio=audio)
        loader = DataLoader(data, batch_sampler=batches, collate_fn=_collate, num_workers=workers,
                            pin_memory=dev.type == "cuda", worker_init_fn=_worker_init if workers else None,
                            prefetch_factor=4 if workers else None)
        bar = tqdm(total=len(items), desc=f"extract {encoder.name}" + (f" [{i}/{n}]" if n > 1 else ""),
                   unit="video", disable=not progress)
        feats: dict[str, dict[str, np.ndarray]] = {}
        skipped: dict[str, str] = {}
        no_audio: list[str] = []
        threads = torch.get_num_threads()
        if dev.type == "cpu" and workers:
            # the decoding workers need their cores: an encoder that also takes every core
            # makes the overlapped pipeline slower than decoding and encoding one after another
            torch.set_num_threads(max(1, (os.cpu_count() or 1) - workers))
        try:
            for (vids, frames, mels, bad), (k, last) in zip(loader, meta):
                skipped.update(bad)
                if vids:
                    feats.update(zip(vids, _encode(encoder, frames, mels, vids, dev)))
                    no_audio += [v for v, m in zip(vids, mels) if m is None and v in sound]
                bar.update(len(vids) + len(bad))
                if last:
                    writer.write_shard(k, {v: feats[v] for v in plan[k] if v in feats},
                                       {v: skipped[v] for v in plan[k] if v in skipped}, dtype=dtype,
                                       audio_missing=no_audio)
                    feats, skipped, no_audio = {}, {}, []
        finally:
            torch.set_num_threads(threads)
            bar.close()

    if n > 1:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()                 # every rank's shards are written
            if dist.get_rank() != 0:       # rank 0 finishes the store
                return None
    return open_store(out_dir) if writer.finalize() else None


def _encode(encoder, frames, mels, vids, device) -> list[dict[str, np.ndarray]]:
    """Encode one batch (AMP on CUDA) and check every output is finite float32."""
    import torch

    frames = frames.to(device, non_blocking=True)
    with torch.inference_mode():
        if device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.float16):
                outs = encoder.encode_batch(frames, mels)
        else:
            outs = encoder.encode_batch(frames, mels)
    if len(outs) != len(vids):
        raise ValueError(f"{encoder.name}.encode_batch returned {len(outs)} results for {len(vids)} videos")
    clean = []
    for vid, out in zip(vids, outs):
        arrs = {s: np.asarray(a.detach().float().cpu() if hasattr(a, "detach") else a, dtype=np.float32)
                for s, a in out.items()}
        for s, a in arrs.items():
            if not np.isfinite(a).all():
                raise FloatingPointError(f"{encoder.name}: NaN/inf in stream {s!r} of video {vid!r}")
        clean.append(arrs)
    return clean


TEXT_CHUNK = 4096    # captions per encode_text call: sorted by length within it, so batches are near uniform


def encode_captions(encoder: Any, texts: Sequence[str], lang: str, batch_size: int = 256,
                    chunk: int = TEXT_CHUNK, bar: Any = None) -> np.ndarray:
    """Text features ``float32 [N, text_dim]`` of one language's captions, in input order.

    ``encode_text`` sorts each chunk of ``chunk`` captions by length and cuts every batch of
    ``batch_size`` to its longest caption (towers where padding changes nothing), so a whole
    language goes through in batches of near-uniform length rather than batches of 256
    padded to their longest (an encoder whose ``encode_text`` takes no ``batch_size`` gets
    ``batch_size`` captions per call). ``bar``: a tqdm bar advanced per call.
    """
    import torch

    sized = _takes_batch_size(encoder)       # else an encoder of the plain protocol gets batch_size at a time
    step = chunk if sized else batch_size
    parts = []
    with torch.inference_mode():
        for s in range(0, len(texts), step):
            part = list(texts[s:s + step])
            emb = encoder.encode_text(part, lang, batch_size=batch_size) if sized else encoder.encode_text(part, lang)
            parts.append(emb.detach().float().cpu().numpy())
            if bar is not None:
                bar.update(len(part))
    if not parts:
        return np.zeros((0, int(getattr(encoder, "text_dim", 0))), np.float32)
    return np.concatenate(parts).astype(np.float32)


def _takes_batch_size(encoder: Any) -> bool:
    import inspect

    try:
        return "batch_size" in inspect.signature(encoder.encode_text).parameters
    except (TypeError, ValueError):
        return False


def extract_text_features(dataset: Any, encoder: Any, store: FeatureStore | str | os.PathLike,
                          langs: Sequence[str] | None = None, batch_size: int = 256,
                          resume: bool = True, progress: bool = True) -> list[str]:
    """Encode every caption per language and write ``store/text/<lang>/``; returns the languages.

    With ``resume`` a language already written for the same captions and encoder is
    kept. Features are the encoder's unnormalised output, cast to float32
    (:func:`encode_captions`: a language's captions sorted by length, batches trimmed).
    """
    from tqdm.auto import tqdm

    path = Path(store.path if isinstance(store, FeatureStore) else store)
    by_lang: dict[str, list] = {}
    for c in dataset.captions:
        by_lang.setdefault(c.lang, []).append(c)
    langs = sorted(by_lang) if langs is None else list(langs)
    unknown = [lang for lang in langs if lang not in by_lang]
    if unknown:
        raise ValueError(f"{dataset.name}: no captions in languages {unknown}; have {sorted(by_lang)}")
    prov = text_provenance(encoder)
    done = []
    for lang in langs:
        caps = by_lang[lang]
        ids = [c.caption_id for c in caps]
        if resume and _text_done(path, lang, ids, prov):
            done.append(lang)
            continue
        with tqdm(total=len(caps), desc=f"text {lang}", unit="caption", disable=not progress) as bar:
            feats = encode_captions(encoder, [c.text for c in caps], lang, batch_size, bar=bar)
        if not np.isfinite(feats).all():
            raise FloatingPointError(f"{encoder.name}: NaN/inf in text features of language {lang!r}")
        write_text_features(path, lang, ids, feats, prov)
        done.append(lang)
    return done


def _text_done(path: Path, lang: str, ids: list[str], prov: dict) -> bool:
    from mvkit.features.store import check_provenance
    from mvkit.io import read_json

    d = path / "text" / lang
    if not (d / "meta.json").exists():
        return False
    check_provenance(read_json(d / "meta.json")["provenance"], prov, d / "meta.json", exact=True)
    return read_json(d / "caption_ids.json") == ids


def store_dir_name(encoder: str, num_frames: int, weights: str | None = None, text_model: str | None = None) -> str:
    """Folder name of a store, keyed by what it holds, e.g. ``mvkit-tiny+mvkit-tiny-ml-f8-w1a2b3c4d5e``.

    The encoder name, the separate text tower (if any), the frame count and the weights
    hash -- never how the weights were spelled (a tag, a file path, "shipped"), so the
    same weights find the same store, and a new checkpoint gets a new folder: features
    are never mixed with, and never overwrite, another checkpoint's. A ``local-dir:`` model is
    named by its folder's name, not its path (a moved or copied folder finds its store).
    """
    def slug(s: str) -> str:
        if s.startswith("local-dir:"):
            s = Path(s[len("local-dir:"):].rstrip("/")).name or s
        return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("_")
    name = slug(encoder) + (f"+{slug(text_model)}" if text_model else "") + f"-f{num_frames}"
    return name + (f"-w{weights[:10]}" if weights else "")


def default_store_dir(root: str | os.PathLike, encoder: Any, num_frames: int) -> Path:
    """``<root>/features/<store_dir_name>`` of a built encoder (where ensure_store and the notebooks look)."""
    return Path(root) / "features" / store_dir_name(encoder.name, num_frames, weights_id(encoder),
                                                    getattr(encoder, "text_name", None))


def weights_id(encoder: Any) -> str | None:
    """The encoder's weights hash: what its store's provenance records and is checked against."""
    return getattr(encoder, "weights_sha256", None)


def _as_encoder(encoder: Any, pretrained: str | None, device, text_model: str | None = None,
                text_pretrained: str | None = None) -> Any:
    if not isinstance(encoder, str):
        return encoder
    from mvkit.features.encoders import create_encoder
    return create_encoder(encoder, pretrained, text_model=text_model, text_pretrained=text_pretrained, device=device)


def share_video_features(out: str | os.PathLike, encoder: Any, num_frames: int, dtype: str = "float32") -> bool:
    """Give ``out`` the video features of a finished sibling store (same parent folder) made by
    an encoder with the same *video* weights and sampling, instead of decoding every clip again.

    Only the text side differs between such encoders (e.g. ``text_model="mvkit-tiny-ml"``):
    the sibling's shards are linked, its plan, index and report copied, and ``out`` gets its
    own provenance (this encoder's). Returns True if a sibling was found.
    """
    from mvkit.io import read_json

    out = Path(out)
    want = video_provenance(encoder, num_frames, dtype)
    if not want.get("video_weights_sha256") or (out / "index.json").exists():
        return False
    same = ("video_weights_sha256", "num_frames", "sampling", "audio", "dtype", "streams")
    for sib in sorted(out.parent.glob("*")) if out.parent.is_dir() else []:
        if sib == out or not (sib / "index.json").is_file() or not (sib / "provenance.json").is_file():
            continue
        prov = read_json(sib / "provenance.json")
        if all(prov.get(k) == want.get(k) for k in same):
            out.mkdir(parents=True, exist_ok=True)
            from mvkit.io import atomic_write_json

            atomic_write_json(out / "provenance.json", {"format": prov.get("format", 1), **want,
                                                        "video_features_from": sib.name})
            for f in ("plan.json", "report.json"):
                if (sib / f).is_file():
                    atomic_write_json(out / f, read_json(sib / f), indent=None)
            link = out / "shards"
            if not link.exists():
                link.symlink_to(os.path.relpath((sib / "shards").resolve(), out))
            atomic_write_json(out / "index.json", read_json(sib / "index.json"))   # marker last
            return True
    return False


TEXT_COMPLETE = ".complete"   # under store/text/: every language of the dataset is encoded


def store_is_complete(out: str | os.PathLike, encoder: str, num_frames: int,
                      weights_sha256: str | None = None) -> bool:
    """True when ``out`` holds finished video and all-language text features.

    Raises :class:`~mvkit.features.store.ProvenanceMismatch` when it holds another
    encoder's, another checkpoint's (``weights_sha256``) or another sampling's features.
    """
    out = Path(out)
    if (out / "index.json").exists() and (out / "text" / TEXT_COMPLETE).exists():
        expect: dict[str, Any] = {"encoder": encoder, "num_frames": num_frames}
        if weights_sha256:
            expect["weights_sha256"] = weights_sha256
        open_store(out, expect=expect)
        return True
    return False


def ensure_dataset_store(dataset: Any, out: str | os.PathLike, encoder: Any = "mvkit-tiny",
                         pretrained: str | None = None, num_frames: int = 8, device: Any=None,
                         batch_size: int = 16, num_workers: int | None = None,
                         progress: bool = True, text_model: str | None = None,
                         text_pretrained: str | None = None) -> Path:
    """Build the store of ``dataset`` at ``out`` once (video + every language's text); reuse after.

    ``encoder`` is a built encoder or a name for
    ``mvkit.features.encoders.create_encoder(encoder, pretrained)``. A finished store is
    reused only if it holds this encoder's features from these very weights (else
    ``ProvenanceMismatch``); an interrupted build resumes where it stopped.
    """
    from mvkit.io import atomic_write_json

    out = Path(out)
    enc = _as_encoder(encoder, pretrained, device, text_model, text_pretrained)
    if store_is_complete(out, enc.name, num_frames, weights_id(enc)):
        return out
    if not share_video_features(out, enc, num_frames):
        extract_features(dataset, enc, out, num_frames=num_frames, batch_size=batch_size,
                         num_workers=num_workers, device=device, progress=progress)
    langs = extract_text_features(dataset, enc, out, progress=progress)
    atomic_write_json(out / "text" / TEXT_COMPLETE, {"langs": langs})
    return out


def ensure_store(world_dir: str | os.PathLike, encoder: Any = "mvkit-tiny", pretrained: str | None = None,
                 num_frames: int = 8, device: Any=None, batch_size: int = 16, num_workers: int | None = None,
                 progress: bool = True, text_model: str | None = None, text_pretrained: str | None = None) -> Path:
    """The features of a world, built once under ``<world>/features/<store_dir_name>/``.

    ``encoder``: a built encoder (reused, never rebuilt) or a name for ``create_encoder``
    with ``pretrained`` / ``text_model`` / ``text_pretrained``. Returns the store path (open
    it with :func:`open_store`); see :func:`ensure_dataset_store` for any other dataset.
    """
    from mvkit.data import load

    world_dir = Path(world_dir)
    enc = _as_encoder(encoder, pretrained, device, text_model, text_pretrained)
    out = default_store_dir(world_dir, enc, num_frames)
    return ensure_dataset_store(load(world_dir), out, enc, pretrained, num_frames, device=device,
                                batch_size=batch_size, num_workers=num_workers, progress=progress)


# --------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    """``mvkit extract``: build (or finish) a feature store for one dataset and encoder."""
    ap = argparse.ArgumentParser(prog="mvkit extract", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="dataset folder or manifest (mvkit.data.load)")
    ap.add_argument("--encoder", default="mvkit-tiny", help="open_clip model name, checkpoint, local-dir:, or mvkit-tiny")
    ap.add_argument("--pretrained", default=None, help="open_clip pretrained tag (e.g. openai)")
    ap.add_argument("--text-model", default=None, help="separate text tower (mvkit-tiny-ml, an open_clip model)")
    ap.add_argument("--text-pretrained", default=None, help="its pretrained tag")
    ap.add_argument("--out", default=None,
                    help="store folder, resumed if it exists (default: <data>/features/<encoder>[+text]-f<frames>-w<weights>,"
                         " where ensure_store and the notebooks look)")
    ap.add_argument("--frames", type=int, default=8, help="frames sampled per video (default 8)")
    ap.add_argument("--shard", default=None, help="i/n: this process's part (default: torchrun RANK/WORLD_SIZE)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None, help="decoding workers (default: cores - 1)")
    ap.add_argument("--videos-per-shard", type=int, default=256)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    ap.add_argument("--device", default=None)
    ap.add_argument("--langs", default=None, help="comma-separated caption languages (default: all)")
    ap.add_argument("--no-text", action="store_true", help="skip text features")
    args = ap.parse_args(argv)

    import torch

    if args.device is None and torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
        args.device = f"cuda:{int(os.environ['LOCAL_RANK'])}"   # one GPU per torchrun rank
    joined = _join_torchrun(args.shard)
    try:
        return _extract(args, joined)
    finally:
        if joined:
            torch.distributed.destroy_process_group()


def _join_torchrun(shard: str | None) -> bool:
    """Under torchrun (``WORLD_SIZE`` > 1 and a rendezvous address), join a gloo group so the
    ranks can wait for each other's shards; only the barrier uses it (CPU or GPU alike)."""
    import torch.distributed as dist

    if shard is not None or int(os.environ.get("WORLD_SIZE", "1")) <= 1 or "MASTER_ADDR" not in os.environ:
        return False
    if not dist.is_initialized():
        dist.init_process_group("gloo")
        return True
    return False


def _extract(args: argparse.Namespace, joined: bool) -> int:
    from mvkit.data import load
    from mvkit.features.encoders import create_encoder

    dataset = load(args.data)
    enc = create_encoder(args.encoder, args.pretrained, text_model=args.text_model,
                         text_pretrained=args.text_pretrained, device=args.device)
    if args.out is None:
        args.out = str(default_store_dir(args.data, enc, args.frames))
    store = extract_features(dataset, enc, args.out, num_frames=args.frames, shard=args.shard,
                             batch_size=args.batch_size, num_workers=args.workers, device=args.device,
                             videos_per_shard=args.videos_per_shard, dtype=args.dtype)
    if store is None:
        if not joined:
            print(f"{args.out}: this part is done; the store completes when every --shard has run")
        return 0
    if not args.no_text:   # the process that completes the store (rank 0 under torchrun) encodes the captions
        langs = args.langs.split(",") if args.langs else None
        done = extract_text_features(dataset, enc, store, langs=langs)
        if langs is None:   # every language: ensure_store may reuse this store as is
            from mvkit.io import atomic_write_json

            atomic_write_json(store.path / "text" / TEXT_COMPLETE, {"langs": done})
    print(f"{store.path}: {len(store.video_ids)} videos, streams {store.dims}, "
          f"{len(store.skipped)} skipped, {len(store.audio_missing)} without the audio their record "
          f"promises (see report.json), text {store.text_langs}")
    return 0
