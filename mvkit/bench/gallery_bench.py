"""`mvkit bench gallery`: how long a click in the failure gallery takes to redraw the view.

The gallery of notebook 04 (:class:`mvkit.viz.widgets.FailureGallery`) redraws in its
widget callbacks, which run synchronously in the kernel, so the time from setting a
control's value to the call returning is the kernel's share of a click: the views
computed and the new view's HTML (or figure PNG) handed to the widget. The browser's
share (one comm message, painting) is not in it; the browser test prints the round trip
it sees.

Two galleries, each driven through the same scripted clicks (language, query, second
model, second language, model, failures switch, and back to an earlier selection):

1. the default embedded world's test split (every language's human captions x the test
   clips; real clips decoded by PyAV the first time each is shown), scored by the frozen
   backbone (text features . mean appearance features) and by a second, noisier scoring
   (the backbone's similarity plus seeded noise) -- what is ranked does not change the
   cost of showing it;
2. a 10,000-clip gallery of random features (unit vectors; captions in two languages
   linked as translations; frames drawn procedurally, no decoding).

The baseline, measured in the same run on the same clicks, is the figure view
(``as_html=False``: a matplotlib figure rendered to PNG per click, what the gallery drew
before the HTML view became the default). Target: every click <= 0.5 s on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

TARGET_SECONDS = 0.5
FULL = {"random_clips": 10_000, "random_langs": 2, "dim": 64}
QUICK = {"random_clips": 600, "random_langs": 2, "dim": 32}


@dataclass
class GalleryInput:
    """What a :class:`~mvkit.viz.widgets.FailureGallery` is built from."""

    name: str
    sims: dict[str, np.ndarray]
    captions: list[Any]
    videos: list[Any]
    frames: Callable[[str], np.ndarray]


# ---- the two galleries ----------------------------------------------------------------
def world_gallery(quick: bool = False, seed: int = 0) -> GalleryInput:
    """The default world's test split (smoke world with ``quick``), frozen-backbone scores."""
    from mvkit.data import load
    from mvkit.data.synth import SMOKE_VIDEOS, ensure_world
    from mvkit.features.extract import ensure_store
    from mvkit.features.store import open_store
    from mvkit.viz.gallery import FrameSource

    world = ensure_world(n_videos=SMOKE_VIDEOS if quick else None, seed=seed)
    ds, store = load(world), open_store(ensure_store(world, progress=False))
    videos = [v for v in ds.videos if v.split == "test" and v.video_id in set(store.video_ids)]
    col = {v.video_id: j for j, v in enumerate(videos)}
    feats, mask = store.stacked([v.video_id for v in videos], "appearance")
    video = (feats * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
    video /= np.linalg.norm(video, axis=1, keepdims=True) + 1e-8
    by_id = {c.caption_id: c for c in ds.captions}
    captions, text = [], []
    for lang in ds.languages:
        ids, tf = store.text_features(lang)
        for cid, t in zip(ids, tf):
            c = by_id.get(cid)
            if c is not None and c.kind == "human" and c.video_id in col:
                captions.append(c)
                text.append(t / (np.linalg.norm(t) + 1e-8))
    sim = np.stack(text) @ video.T
    noisy = sim + np.random.default_rng(seed).normal(0, sim.std(), sim.shape).astype(np.float32)
    return GalleryInput(f"embedded world {world.name} (test split)", {"backbone": sim, "backbone+noise": noisy},
                        captions, videos, FrameSource(ds, num_frames=3))


def random_gallery(n_clips: int, n_langs: int = 2, dim: int = 64, seed: int = 0) -> GalleryInput:
    """``n_clips`` random unit-vector clips, one caption per clip per language (translations)."""
    from mvkit.data.records import CaptionRecord, VideoRecord

    rng = np.random.default_rng(seed)
    video = rng.standard_normal((n_clips, dim), dtype=np.float32)
    video /= np.linalg.norm(video, axis=1, keepdims=True)
    per_lang = n_clips // n_langs            # each language captions its own share of clips...
    langs = ["en", "de", "fr", "zh", "hi", "sw"][:n_langs]
    videos = [VideoRecord(f"r{j:05d}", None, "test") for j in range(n_clips)]
    captions, rows = [], []
    for li, lang in enumerate(langs):
        for j in range(per_lang):            # ...so the gallery has n_clips queries in all
            src = f"en{j}" if lang != "en" else None
            captions.append(CaptionRecord(f"{lang}{j}", videos[j].video_id, lang, f"random clip {j} in {lang}",
                                          kind="human" if lang == "en" else "machine-translated", source_id=src))
            rows.append(j)
    base = video[rows] + 0.9 * rng.standard_normal((len(rows), dim), dtype=np.float32)
    other = video[rows] + 1.2 * rng.standard_normal((len(rows), dim), dtype=np.float32)
    sims = {"random-a": base @ video.T, "random-b": other @ video.T}

    def frames(video_id: str) -> np.ndarray:   # procedural key frames, a colour per clip
        r = np.random.default_rng(int(video_id[1:]))
        return np.broadcast_to(r.integers(0, 255, (3, 1, 1, 3), dtype=np.uint8), (3, 64, 64, 3)).copy()

    return GalleryInput(f"random features, {n_clips} clips x {len(rows)} queries ({n_langs} languages)",
                        sims, captions, videos, frames)


# ---- the clicks -------------------------------------------------------------------------
def clicks(gallery: Any) -> list[tuple[str, Callable[[], None], bool]]:
    """The scripted interactions: (name, action setting one control, must the view change?).

    Unticking "failures only" keeps a query that is still listed, so its view stays.
    """
    g = gallery
    langs = list(g.language.options)
    models = list(g.model.options)
    other_lang = langs[1 % len(langs)]

    def next_query() -> None:
        opts = [v for _, v in g.query.options]
        if len(opts) > 1:
            g.query.value = opts[(opts.index(g.query.value) + 1) % len(opts)]

    def set_(ctrl: Any, value: Any) -> Callable[[], None]:
        return lambda: setattr(ctrl, "value", value)

    return [
        ("language", set_(g.language, other_lang), True),
        ("query", next_query, True),
        ("query again", next_query, True),
        ("vs model", set_(g.compare_model, models[-1]), True),
        ("vs language", set_(g.other_language, langs[0]), True),
        ("model", set_(g.model, models[-1]), True),
        ("failures only off", set_(g.failures_only, False), False),
        ("language back", set_(g.language, langs[0]), True),
        ("language again (cached views)", set_(g.language, other_lang), True),
    ]


def time_clicks(inp: GalleryInput, as_html: bool) -> dict:
    """Build the gallery (timed), then time each scripted click; checks each click redrew."""
    from mvkit.viz.widgets import FailureGallery

    t0 = time.perf_counter()
    g = FailureGallery(inp.sims, inp.captions, inp.videos, inp.frames, k=5, as_html=as_html)
    build = time.perf_counter() - t0
    rows = []
    for name, act, must_change in clicks(g):
        before = g.view.value
        t0 = time.perf_counter()
        act()
        dt = time.perf_counter() - t0
        rows.append({"click": name, "seconds": dt, "redrawn": g.view.value != before,
                     "must_change": must_change, "rows_shown": len(g.last_views)})
    if g.last_figure is not None:
        import matplotlib.pyplot as plt

        plt.close(g.last_figure)
    secs = [r["seconds"] for r in rows]
    return {"view": "html" if as_html else "figure", "build_seconds": build, "clicks": rows,
            "median_seconds": statistics.median(secs), "max_seconds": max(secs),
            "all_redrawn": all(r["redrawn"] for r in rows if r["must_change"])}


def bench(inp: GalleryInput) -> dict:
    """HTML view (the default) against the figure view on the same clicks."""
    html = time_clicks(inp, as_html=True)
    fig = time_clicks(inp, as_html=False)
    return {"gallery": inp.name, "queries": len(inp.captions), "clips": len(inp.videos),
            "html": html, "figure_baseline": fig,
            "speedup_median": fig["median_seconds"] / html["median_seconds"],
            "meets_target": html["max_seconds"] <= TARGET_SECONDS}


def run(quick: bool = False) -> dict:
    """Both galleries; a JSON-ready dict."""
    import matplotlib

    matplotlib.use("Agg")
    sizes = QUICK if quick else FULL
    t0 = time.perf_counter()
    results = [bench(world_gallery(quick)),
               bench(random_gallery(sizes["random_clips"], sizes["random_langs"], sizes["dim"]))]
    return {"quick": quick, "target_seconds": TARGET_SECONDS,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "galleries": results, "total_seconds": time.perf_counter() - t0}


def report(res: dict) -> str:
    """Human-readable summary of ``run``'s result."""
    lines = []
    for r in res["galleries"]:
        h, f = r["html"], r["figure_baseline"]
        lines.append(f"{r['gallery']}: built in {h['build_seconds']:.2f} s (ranks of every query, once)")
        lines.append(f"  {'click':32s} {'html view':>10s} {'figure view':>12s}")
        for a, b in zip(h["clicks"], f["clicks"]):
            lines.append(f"  {a['click']:32s} {a['seconds']:9.3f}s {b['seconds']:11.3f}s  ({a['rows_shown']} row(s))")
        lines.append(f"  median {h['median_seconds']:.3f} s vs figure view {f['median_seconds']:.3f} s -> "
                     f"{r['speedup_median']:.1f}x faster; slowest click {h['max_seconds']:.3f} s "
                     f"(target <= {res['target_seconds']} s: {'met' if r['meets_target'] else 'NOT met'})"
                     + ("" if h["all_redrawn"] else "; WARNING: a click did not change the view"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mvkit bench gallery", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke world and a 600-clip random gallery (tests)")
    parser.add_argument("--out", default=None, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    res = run(quick=args.quick)
    print(report(res))
    if args.out:
        from mvkit.io import atomic_write_json

        atomic_write_json(args.out, res)
        print(f"wrote {args.out}")
    ok = all(r["meets_target"] and r["html"]["all_redrawn"] for r in res["galleries"])
    return 0 if ok or args.quick else 1
