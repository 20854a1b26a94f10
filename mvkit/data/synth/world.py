"""Generate, load and cache the embedded world (layout in docs/DESIGN.md).

``generate_world`` samples every clip's scene and captions from one seed (each clip and
each caption stream has its own derived generator, so changing one option never
reshuffles unrelated content), renders and encodes the clips with a small process
pool, and writes the manifests atomically; a ``.complete`` marker is written last.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from mvkit.data.attributes import partial_label
from mvkit.data.languages import LANGUAGES, MULTI_MSRVTT, RUDDER
from mvkit.data.records import CaptionRecord, PartialLabel, RetrievalDataset, VideoRecord
from mvkit.data.synth import captions as cap
from mvkit.data.synth.mp4 import encode_mp4
from mvkit.data.synth.render import render_audio, render_frames
from mvkit.data.synth.scene import event_tuples, make_twin, sample_scene
from mvkit.io import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_jsonl,
    make_temp_dir,
    read_json,
    read_jsonl,
)

VERSION = 3   # bump whenever generated content changes: ensure_world caches by it
# v3: translate-test captions (val/test human captions machine-translated into English)
DEFAULT_VIDEOS = 1200
SMOKE_VIDEOS = 200
COMPLETE_MARKER = ".complete"
WORLD_LANGS = tuple(dict.fromkeys(MULTI_MSRVTT + ("ja",) + RUDDER))   # en first, 16 languages
PARTIAL_PREFIX = "rudder:"

# Share of TRAIN videos with a human caption per language (val/test: all videos, all
# languages). Scarce for low-resource languages, as in the real multilingual datasets.
HUMAN_SHARE: dict[str, float] = {
    "en": 1.0, "de": 0.4, "fr": 0.4, "es": 0.4, "zh": 0.4,
    "cs": 0.2, "ru": 0.2, "vi": 0.2, "ja": 0.2,
    "sw": 0.08, "hi": 0.08, "mr": 0.08, "ta": 0.08, "te": 0.08, "kn": 0.08, "ml": 0.08,
}

# independent random streams: (seed, STREAM, index, ...) -> numpy Generator
_SCENE, _RENDER, _SPLIT, _EN, _HUMAN, _MT, _PARTIAL, _SELECT, _TO_EN = range(9)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def _render_job(job: tuple) -> tuple[str, bool]:
    """Render and encode one clip into ``path`` (runs in a worker process)."""
    path, scene, seed, duration, fps, size, sr = job
    frames = render_frames(scene, seed, duration, fps, size)
    audio = render_audio(scene, seed, duration, sr)
    atomic_write_bytes(path, encode_mp4(frames, audio, fps, sr))
    return path, audio is not None


def _sample_scenes(n: int, seed: int, duration: float, p_twin: float) -> list[dict]:
    scenes: list[dict] = []
    for i in range(n):
        r = _rng(seed, _SCENE, i)
        prev = scenes[-1] if scenes else None
        if prev is not None and prev["twin_of"] is None and prev["audio"] and r.random() < p_twin:
            scenes.append(make_twin(prev, f"v{i - 1:05d}"))
        else:
            scenes.append(sample_scene(r, duration))
    return scenes


def _splits(n: int, seed: int, fractions: tuple[float, float, float]) -> list[str]:
    perm = _rng(seed, _SPLIT).permutation(n)
    n_train = round(fractions[0] * n)
    n_val = round(fractions[1] * n)
    out = [""] * n
    for rank, i in enumerate(perm):
        out[i] = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
    return out


def generate_world(
    out: str | os.PathLike,
    n_videos: int = DEFAULT_VIDEOS,
    seed: int = 0,
    *,
    duration: float = 3.0,
    fps: int = 8,
    size: int = 64,
    sample_rate: int = 16000,
    languages: Iterable[str] = WORLD_LANGS,
    human_share: Mapping[str, float] | None = None,
    en_captions: int = 3,
    mt_noise: float = 0.15,
    p_twin: float = 0.1,
    split_fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    partial_langs: Iterable[str] = ("en",) + RUDDER,
    workers: int = 2,
    name: str | None = None,
    verbose: bool = False,
    videos_from: str | os.PathLike | None = None,
) -> Path:
    """Write a world of ``n_videos`` clips to ``out`` and return its path.

    Captions: ``en_captions`` English paraphrases per clip; one human caption per clip
    in every other language for val/test and for a ``human_share`` of train; one
    machine translation per train clip and language (of its first English caption,
    noise rate ``mt_noise``) plus its back-translation; for every val/test human caption
    outside English, its machine translation into English (translate-test, same noise
    model, ids ``<video>#<lang>2en#0``, ``source_id`` the human caption); four RUDDER probe captions per
    clip (in English and one rotating RUDDER language), labelled in ``partial.jsonl``.

    ``videos_from``: a complete world of the same version, seed, size and clip options
    whose clips are hard-linked (or copied) instead of rendered: a captions-only variant
    (e.g. another ``mt_noise``) with byte-identical videos.
    """
    t0 = time.time()
    out = Path(out)
    langs = [l for l in languages]
    share = {**HUMAN_SHARE, **(human_share or {})}
    check_options("generate_world", langs, share, mt_noise, n_videos)

    scenes = _sample_scenes(n_videos, seed, duration, p_twin)
    splits = _splits(n_videos, seed, split_fractions)
    ids = [f"v{i:05d}" for i in range(n_videos)]

    # ---- clips --------------------------------------------------------------------------
    jobs = [(str(out / "videos" / f"{vid}.mp4"), scenes[i], seed * 1_000_003 + i, duration, fps, size,
             sample_rate) for i, vid in enumerate(ids)]
    prepare_out(out, ids)
    if videos_from is not None:
        _link_clips(Path(videos_from), out, ids, seed, {"duration": duration, "fps": fps, "size": size,
                                                            "sample_rate": sample_rate, "p_twin": p_twin})
    else:
        render_clips(jobs, workers)
    t_render = time.time() - t0
    videos = [VideoRecord(vid, f"videos/{vid}.mp4", splits[i], round(float(duration), 3),
                          scenes[i]["audio"], scenes[i], event_tuples(scenes[i]))
              for i, vid in enumerate(ids)]

    # ---- captions -----------------------------------------------------------------------
    caps: list[CaptionRecord] = []
    human_train = human_train_sets(splits, langs, share, lambda li: _rng(seed, _SELECT, li))
    for i, vid in enumerate(ids):
        sc = scenes[i]
        r = _rng(seed, _EN, i)
        en_mentions = []
        for k in range(en_captions):
            m = cap.sample_mention(r, sc)
            en_mentions.append(m)
            caps.append(CaptionRecord(f"{vid}#en#{k}", vid, "en", cap.realise_english(m, r), "human", None, m))
        for li, lang in enumerate(langs):
            if lang == "en":
                continue
            if splits[i] != "train" or i in human_train[lang]:
                rh = _rng(seed, _HUMAN, i, li)
                m = cap.sample_mention(rh, sc)
                caps.append(CaptionRecord(f"{vid}#{lang}#0", vid, lang, cap.realise(lang, m, rh), "human", None, m))
                if splits[i] != "train":      # translate-test: the query machine-translated into English
                    en, record = cap.translate_to_english(lang, m, _rng(seed, _TO_EN, i, li), mt_noise)
                    caps.append(CaptionRecord(f"{vid}#{lang}2en#0", vid, "en", en, "machine-translated",
                                              f"{vid}#{lang}#0", {**m, "noise": record}))
        if splits[i] == "train" and en_captions > 0:
            src = en_mentions[0]
            for li, lang in enumerate(langs):
                if lang == "en":
                    continue
                caps += translation_pair(vid, vid, lang, src, _rng(seed, _MT, i, li), mt_noise)

    # ---- RUDDER probes ------------------------------------------------------------------
    plabels: list[PartialLabel] = []
    plangs = [l for l in partial_langs if l in langs]
    rud = [l for l in plangs if l != "en"]
    for i, vid in enumerate(ids):
        rp = _rng(seed, _PARTIAL, i)
        probe_langs = (["en"] if "en" in plangs else []) + ([rud[i % len(rud)]] if rud else [])
        for lang in probe_langs:
            for kind, m in cap.partial_mentions(rp, scenes[i]):
                cid = f"{PARTIAL_PREFIX}{vid}#{lang}#{kind}"
                text = cap.realise_english(m, rp) if lang == "en" else cap.realise(lang, m, rp)
                caps.append(CaptionRecord(cid, vid, lang, text, "human", None, {**m, "partial_for": vid}))
                plabels.append(PartialLabel(vid, cid, partial_label(m, scenes[i])))

    # ---- manifests (marker last) -------------------------------------------------------
    config = {"duration": duration, "fps": fps, "size": size, "sample_rate": sample_rate, "human_share": share,
                  "en_captions": en_captions, "mt_noise": mt_noise, "p_twin": p_twin,
                  "split_fractions": list(split_fractions), "partial_langs": plangs, "version": VERSION}
    counts = {s: splits.count(s) for s in ("train", "val", "test")}
    atomic_write_jsonl(out / "videos.jsonl", [_video_row(v) for v in videos])
    atomic_write_jsonl(out / "captions.jsonl", [_row(c) for c in caps])
    atomic_write_jsonl(out / "partial.jsonl", [_row(p) for p in plabels])
    atomic_write_json(out / "world.json", {
        "name": name or out.name, "version": VERSION, "seed": seed, "n_videos": n_videos,
        "languages": langs, "config": config, "splits": counts,
    })
    atomic_write_json(out / COMPLETE_MARKER, {"seconds": round(time.time() - t0, 2),
                                              "render_seconds": round(t_render, 2)})
    if verbose:
        print(f"world {out}: {n_videos} videos {counts}, {len(caps)} captions, "
              f"{len(plabels)} partial labels in {time.time() - t0:.1f}s (clips {t_render:.1f}s)")
    return out


def check_options(who: str, langs: list[str], share: Mapping[str, float], mt_noise: float, n_videos: int) -> None:
    """``ValueError`` (prefixed with the generator's name) for languages, shares, noise or sizes out of range."""
    bad = [l for l in langs if l not in LANGUAGES or l not in cap.LEXICONS]
    if bad or "en" not in langs:
        raise ValueError(f"{who}: languages must include 'en' and come from "
                         f"{sorted(cap.LEXICONS)}; got unknown {bad}")
    bad_share = {l: v for l, v in share.items() if not 0.0 <= v <= 1.0}
    if bad_share:
        raise ValueError(f"{who}: human shares must be in [0, 1], got {bad_share}")
    if not 0.0 <= mt_noise <= 1.0:
        raise ValueError(f"{who}: mt_noise must be in [0, 1], got {mt_noise}")
    if n_videos < 10:
        raise ValueError(f"{who}: need at least 10 videos for three splits, got {n_videos}")


def prepare_out(out: Path, ids: list[str]) -> None:
    """Make ``out/videos``, drop the completion marker and clips left over from a bigger earlier world."""
    (out / "videos").mkdir(parents=True, exist_ok=True)
    (out / COMPLETE_MARKER).unlink(missing_ok=True)
    keep = set(ids)
    for stale in (out / "videos").glob("*.mp4"):
        if stale.stem not in keep:
            stale.unlink()


def render_clips(jobs: list[tuple], workers: int, pool_from: int = 32, chunksize: int = 8) -> None:
    """Render and encode every job (:func:`_render_job`), in a process pool when there are enough."""
    if workers > 1 and len(jobs) >= pool_from:
        # fork is cheap on Linux (workers need only NumPy and PyAV); elsewhere spawn is safer
        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ctx.Pool(workers) as pool:
            list(pool.imap(_render_job, jobs, chunksize=chunksize))
    else:
        for j in jobs:
            _render_job(j)


def human_train_sets(splits: list[str], langs: list[str], share: Mapping[str, float],
                     rng_of: Callable[[int], np.random.Generator]) -> dict[str, set[int]]:
    """Per language, the train videos with a human caption (a ``share`` of them, drawn by ``rng_of(li)``)."""
    train_idx = [i for i, s in enumerate(splits) if s == "train"]
    out: dict[str, set[int]] = {}
    for li, lang in enumerate(langs):
        k = round(share.get(lang, 0.1) * len(train_idx))
        pick = rng_of(li).permutation(len(train_idx))[:k]
        out[lang] = {train_idx[j] for j in pick}
    return out


def translation_pair(stem: str, video_id: str, lang: str, src: dict[str, Any], rng: np.random.Generator,
                     mt_noise: float, spans: Any = None) -> list[CaptionRecord]:
    """The machine translation of caption ``<stem>#en#0`` into ``lang`` and its back-translation."""
    mt, bt, record = cap.translate(lang, src, rng, mt_noise)
    mt_id = f"{stem}#en2{lang}#0"
    noisy = {**src, "noise": record}
    return [CaptionRecord(mt_id, video_id, lang, mt, "machine-translated", f"{stem}#en#0", noisy, spans),
            CaptionRecord(f"{stem}#en2{lang}2en#0", video_id, "en", bt, "back-translated", mt_id, noisy, spans)]


# optional fields written only when set, so worlds without them keep their exact bytes
_OMIT_IF_NONE = ("spans",)


def _row(record: Any) -> dict[str, Any]:
    """A record's fields as a dict (shallow: ``dataclasses.asdict`` deep-copies, 10x slower)."""
    return {f.name: getattr(record, f.name) for f in fields(record)
            if not (f.name in _OMIT_IF_NONE and getattr(record, f.name) is None)}


def _link_clips(src: Path, out: Path, ids: list[str], seed: int, clip_options: dict[str, Any]) -> None:
    """Hard-link (or copy) the clips of world ``src`` into ``out``, after checking they are the same clips."""
    if not world_is_complete(src):
        raise ValueError(f"generate_world: videos_from={src} is not a complete world")
    meta = read_json(src / "world.json")
    cfg = meta.get("config", {})
    diff = {k: (cfg.get(k), v) for k, v in clip_options.items() if cfg.get(k) != v}
    if meta.get("version") != VERSION or meta.get("seed") != seed or meta.get("n_videos") != len(ids) or diff:
        raise ValueError(f"generate_world: {src / 'world.json'} has other clips (version {meta.get('version')}, "
                         f"seed {meta.get('seed')}, n_videos {meta.get('n_videos')}, options {diff}); "
                         f"need version {VERSION}, seed {seed}, n_videos {len(ids)}")
    for vid in ids:
        a, b = src / "videos" / f"{vid}.mp4", out / "videos" / f"{vid}.mp4"
        b.unlink(missing_ok=True)
        try:
            os.link(a, b)
        except OSError:
            shutil.copyfile(a, b)


def _video_row(v: VideoRecord) -> dict[str, Any]:
    row = _row(v)
    row["events"] = [list(e) for e in v.events]
    return row


def is_partial_caption(c: CaptionRecord) -> bool:
    """RUDDER probe captions: written for a clip, but may describe another (see package doc)."""
    return c.caption_id.startswith(PARTIAL_PREFIX)


def load_world(path: str | os.PathLike, partial: bool = False) -> RetrievalDataset:
    """Read a world written by :func:`generate_world` into a :class:`RetrievalDataset`.

    RUDDER probe captions and their labels are left out unless ``partial=True``:
    probes are not captions *of* their clip, so ordinary retrieval must not see them.
    """
    root = Path(path)
    meta_path = root / "world.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{meta_path}: not an embedded world (no world.json); "
                                f"make one with `mvkit synth --out {root}`")
    meta = read_json(meta_path)
    videos = []
    vpath = root / "videos.jsonl"
    first_line: dict[str, int] = {}
    for n, row in enumerate(read_jsonl(vpath), 1):
        try:
            row["events"] = tuple(tuple(e) for e in row.get("events") or ())
            videos.append(VideoRecord(**row))
        except TypeError as e:
            raise ValueError(f"{vpath}:{n}: bad video record: {e}") from None
        vid = videos[-1].video_id
        if vid in first_line:   # name this file, not the caption file the dataset is sourced from
            raise ValueError(f"{vpath}:{n}: duplicate video id {vid!r} (first at line {first_line[vid]})")
        first_line[vid] = n
    caps = []
    cpath = root / "captions.jsonl"
    for n, row in enumerate(read_jsonl(cpath), 1):
        try:
            c = CaptionRecord(**row)
        except (TypeError, ValueError) as e:   # unknown fields; a span with start >= end
            raise ValueError(f"{cpath}:{n}: bad caption record: {e}") from None
        if partial or not is_partial_caption(c):
            caps.append(c)
    plabels = []
    ppath = root / "partial.jsonl"
    if partial and ppath.exists():
        plabels = [PartialLabel(**row) for row in read_jsonl(ppath)]
    complete = (root / COMPLETE_MARKER).exists()
    if not complete:
        warnings.warn(f"{root}: world has no {COMPLETE_MARKER} marker; it may be half-written "
                      f"(regenerate it with `mvkit synth --out {root}`)", stacklevel=2)
    meta = {**meta, "complete": complete, "partial_included": partial}
    return RetrievalDataset(meta.get("name", root.name), root, videos, caps, plabels, meta, source=str(cpath))


def world_is_complete(path: str | os.PathLike) -> bool:
    """True when ``path`` holds a fully written world (its marker is written last)."""
    return (Path(path) / COMPLETE_MARKER).exists()


def ensure_world(n_videos: int | None = None, seed: int = 0, root: str | os.PathLike | None = None,
                 **kw: Any) -> Path:
    """The default world under ``mvkit_home()/worlds/``, generated once and then reused.

    ``n_videos=None`` means the default size, or the smoke size under ``MVKIT_SMOKE=1``.
    The world is built in a temporary sibling directory and renamed into place, so a
    crash or a concurrent caller never sees a half-written world.
    """
    from mvkit._setup import smoke
    from mvkit.paths import mvkit_home

    if n_videos is None:
        n_videos = SMOKE_VIDEOS if smoke() else DEFAULT_VIDEOS
    base = Path(root) if root is not None else mvkit_home() / "worlds"
    name = world_name(f"world-v{VERSION}-n{n_videos}-s{seed}", kw)
    return build_world_once(base / name, lambda tmp: generate_world(tmp, n_videos, seed, name=name, **kw))


def world_name(stem: str, kw: Mapping[str, Any]) -> str:
    """``stem`` plus a digest of the options that change what is generated (how it is made does not)."""
    content_kw = {k: v for k, v in kw.items() if k not in ("workers", "verbose", "videos_from")}
    if not content_kw:
        return stem
    import hashlib
    import json
    return stem + "-" + hashlib.sha1(json.dumps(content_kw, sort_keys=True, default=str).encode()).hexdigest()[:8]


def build_world_once(final: Path, build: Callable[[Path], Any]) -> Path:
    """``final`` if it holds a complete world, else ``build(tmp)`` in a sibling temporary
    directory renamed into place: a crash or a concurrent caller never sees a half world."""
    if world_is_complete(final):
        return final
    base = final.parent
    base.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(base, f".{final.name}.")
    try:
        build(tmp)
        if final.exists():            # an incomplete leftover, or a concurrent winner
            if world_is_complete(final):
                shutil.rmtree(tmp, ignore_errors=True)
                return final
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:
            if not world_is_complete(final):   # not a concurrent winner: a real error
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
