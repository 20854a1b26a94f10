"""The embedded grounding world: long clips, timed events, queries in 16 languages.

``generate_grounding_world`` writes the retrieval world's layout (docs/DESIGN.md, "The
embedded world on disk"), so :func:`mvkit.data.load` reads it, with untrimmed 12-20 s
clips (:mod:`mvkit.grounding.scene`) and grounding queries (:mod:`mvkit.grounding.queries`)
whose ground-truth windows are in ``CaptionRecord.spans``. Clips are rendered and
encoded by the retrieval world's renderer and MP4 writer; captions are realised by its
16 lexicons and garbled by its machine-translation noise model. Deterministic for a seed:
every clip and every caption stream has its own derived generator.

Captions per query target (one moment of one clip): ``en_captions`` English paraphrases
(``<video>.q<t>#en#<k>``); one human query per other language for val/test targets and
for a ``HUMAN_SHARE`` of the train clips (``<video>.q<t>#<lang>#0``); for every train
target a machine translation of ``#en#0`` into each language (``#en2<lang>#0``) and its
back-translation (``#en2<lang>2en#0``). ``attributes["target"]`` names the target
(``<video>.q<t>``), so the queries of one moment can be paired across languages.
``VideoRecord.events`` lists every object's events as ``("<role>:<motion>[:<speed>]", start, end)``.

    mvkit synth-grounding --out DIR [--videos 500] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mvkit.data.records import CaptionRecord, VideoRecord
from mvkit.data.synth import captions as cap
from mvkit.data.synth.world import (
    COMPLETE_MARKER,
    HUMAN_SHARE,
    WORLD_LANGS,
    _row,
    _splits,
    _video_row,
    build_world_once,
    check_options,
    human_train_sets,
    prepare_out,
    render_clips,
    translation_pair,
    world_name,
)
from mvkit.grounding.queries import sample_mention, targets
from mvkit.grounding.scene import DURATION, sample_untrimmed, timeline
from mvkit.io import atomic_write_json, atomic_write_jsonl

VERSION = 1   # bump whenever generated content changes: ensure_grounding_world caches by it
DEFAULT_VIDEOS = 500
SMOKE_VIDEOS = 40
KIND = "grounding"

# independent random streams: (seed, STREAM, index, ...) -> numpy Generator
_SCENE, _TARGETS, _EN, _HUMAN, _MT, _SELECT = 100, 101, 102, 103, 104, 105


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def generate_grounding_world(
    out: str | os.PathLike,
    n_videos: int = DEFAULT_VIDEOS,
    seed: int = 0,
    *,
    duration: tuple[float, float] = DURATION,
    fps: int = 8,
    size: int = 64,
    sample_rate: int = 16000,
    languages: Iterable[str] = WORLD_LANGS,
    human_share: Mapping[str, float] | None = None,
    en_captions: int = 2,
    mt_noise: float = 0.15,
    p_companion: float = 0.6,
    p_repeat: float = 0.15,
    p_order: float = 0.5,
    p_silent: float = 0.2,
    split_fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    workers: int = 2,
    name: str | None = None,
    verbose: bool = False,
) -> Path:
    """Write a grounding world of ``n_videos`` untrimmed clips to ``out`` and return its path."""
    t0 = time.time()
    out = Path(out)
    langs = list(languages)
    share = {**HUMAN_SHARE, **(human_share or {})}
    duration = (float(duration[0]), float(duration[1]))
    check_options("generate_grounding_world", langs, share, mt_noise, n_videos)
    if not 8.0 <= duration[0] <= duration[1]:
        raise ValueError(f"generate_grounding_world: durations {duration} must satisfy 8 <= low <= high "
                         "(two events with idle time around them need about 8 s)")

    scenes = [sample_untrimmed(_rng(seed, _SCENE, i), fps, size, duration, p_companion, p_repeat, p_silent)
              for i in range(n_videos)]
    splits = _splits(n_videos, seed, split_fractions)
    ids = [f"v{i:05d}" for i in range(n_videos)]

    # ---- clips (the retrieval world's renderer and encoder) -----------------------------
    jobs = [(str(out / "videos" / f"{vid}.mp4"), scenes[i], seed * 1_000_003 + i, scenes[i]["duration"],
             fps, size, sample_rate) for i, vid in enumerate(ids)]
    prepare_out(out, ids)
    render_clips(jobs, workers, pool_from=16, chunksize=4)
    t_render = time.time() - t0
    videos = [VideoRecord(vid, f"videos/{vid}.mp4", splits[i], scenes[i]["duration"], scenes[i]["audio"],
                          scenes[i], tuple((f"{r}:{lab}", s, e) for r, lab, s, e in timeline(scenes[i])))
              for i, vid in enumerate(ids)]

    # ---- queries ------------------------------------------------------------------------
    tgts = [targets(scenes[i], _rng(seed, _TARGETS, i), p_order) for i in range(n_videos)]
    human_train = human_train_sets(splits, langs, share, lambda li: _rng(seed, _SELECT, li))
    caps: list[CaptionRecord] = []
    for i, vid in enumerate(ids):
        sc = scenes[i]
        for t, tg in enumerate(tgts[i]):
            qid, spans = f"{vid}.q{t}", tg["spans"]
            r = _rng(seed, _EN, i, t)
            en = []
            for k in range(en_captions):
                m = {**sample_mention(r, sc, tg), "target": qid}
                en.append(m)
                caps.append(CaptionRecord(f"{qid}#en#{k}", vid, "en", cap.realise_english(m, r), "human",
                                          None, m, spans))
            for li, lang in enumerate(langs):
                if lang != "en" and (splits[i] != "train" or i in human_train[lang]):
                    rh = _rng(seed, _HUMAN, i, t, li)
                    m = {**sample_mention(rh, sc, tg), "target": qid}
                    caps.append(CaptionRecord(f"{qid}#{lang}#0", vid, lang, cap.realise(lang, m, rh), "human",
                                              None, m, spans))
            if splits[i] != "train" or not en:
                continue
            for li, lang in enumerate(langs):
                if lang == "en":
                    continue
                caps += translation_pair(qid, vid, lang, en[0], _rng(seed, _MT, i, t, li), mt_noise, spans)

    # ---- manifests (marker last) --------------------------------------------------------
    config = {"duration": list(duration), "fps": fps, "size": size, "sample_rate": sample_rate,
              "human_share": share, "en_captions": en_captions, "mt_noise": mt_noise,
              "p_companion": p_companion, "p_repeat": p_repeat, "p_order": p_order, "p_silent": p_silent,
              "split_fractions": list(split_fractions), "version": VERSION}
    counts = {s: splits.count(s) for s in ("train", "val", "test")}
    atomic_write_jsonl(out / "videos.jsonl", [_video_row(v) for v in videos])
    atomic_write_jsonl(out / "captions.jsonl", [_row(c) for c in caps])
    atomic_write_json(out / "world.json", {
        "name": name or out.name, "kind": KIND, "version": VERSION, "seed": seed, "n_videos": n_videos,
        "languages": langs, "config": config, "splits": counts,
        "n_targets": sum(len(t) for t in tgts),
    })
    atomic_write_json(out / COMPLETE_MARKER, {"seconds": round(time.time() - t0, 2),
                                              "render_seconds": round(t_render, 2)})
    if verbose:
        print(f"grounding world {out}: {n_videos} videos {counts}, {sum(len(t) for t in tgts)} moments, "
              f"{len(caps)} queries in {time.time() - t0:.1f}s (clips {t_render:.1f}s)")
    return out


def ensure_grounding_world(n_videos: int | None = None, seed: int = 0, root: str | os.PathLike | None = None,
                           **kw: Any) -> Path:
    """The default grounding world under ``mvkit_home()/worlds/``, generated once and reused.

    ``n_videos=None`` means the default size, or the smoke size under ``MVKIT_SMOKE=1``.
    """
    from mvkit._setup import smoke
    from mvkit.paths import mvkit_home

    if n_videos is None:
        n_videos = SMOKE_VIDEOS if smoke() else DEFAULT_VIDEOS
    base = Path(root) if root is not None else mvkit_home() / "worlds"
    name = world_name(f"grounding-v{VERSION}-n{n_videos}-s{seed}", kw)
    return build_world_once(base / name, lambda tmp: generate_grounding_world(tmp, n_videos, seed, name=name, **kw))


def main(argv: list[str] | None = None) -> int:
    """``mvkit synth-grounding``: write a grounding world; prints a one-line summary."""
    p = argparse.ArgumentParser(prog="mvkit synth-grounding", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--videos", type=int, default=DEFAULT_VIDEOS, help=f"number of clips (default {DEFAULT_VIDEOS})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-duration", type=float, default=DURATION[0], help="shortest clip in seconds")
    p.add_argument("--max-duration", type=float, default=DURATION[1], help="longest clip in seconds")
    p.add_argument("--mt-noise", type=float, default=0.15, help="machine-translation noise rate per word")
    p.add_argument("--en-captions", type=int, default=2, help="English paraphrases per moment")
    p.add_argument("--languages", default=",".join(WORLD_LANGS), help="comma-separated codes (must include en)")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args(argv)
    try:
        generate_grounding_world(a.out, a.videos, a.seed, duration=(a.min_duration, a.max_duration),
                                 mt_noise=a.mt_noise, en_captions=a.en_captions,
                                 languages=[lang.strip() for lang in a.languages.split(",") if lang.strip()],
                                 workers=a.workers, verbose=True)
    except ValueError as e:
        p.error(str(e))
    return 0
