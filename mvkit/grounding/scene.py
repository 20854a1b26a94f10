"""Untrimmed clips: several timed events with idle stretches between them, from a seed.

The grounding world reuses the retrieval world's objects, motions, renderer and sounds
(:mod:`mvkit.data.synth.scene`, :mod:`mvkit.data.synth.render`); only the timeline is new.
A clip lasts 12-20 s. Its main object performs 2-4 events one after another, each 1.5-5 s
long, separated by idle stretches of 0.5-3 s in which it rests and only room tone is
heard; a companion object (in 60% of the clips) performs 0-2 events of its own at any
time, silently. Only the main object sounds (its material's timbre, in a pattern tied to
the motion), so sound marks when the main object acts. Main events have distinct motions,
except that in 15% of the clips the last event repeats the first one (motion and speed):
a query about it then has two ground-truth windows, as many QVHighlights queries do.

Every path is checked with :func:`mvkit.data.synth.render.path_fits` (objects stay in the
frame and keep a visible size), so a long sequence of slides never runs off the picture.
The scene dict is the retrieval world's schema (``VideoRecord.attributes``) plus
``"duration"``; each object's ``events`` carry their ``start``/``end`` in seconds.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mvkit.data.synth.render import path_fits
from mvkit.data.synth.scene import (
    _event,
    _sample_motion,
    _sample_object,
    finish_scene,
    sample_companion,
)

DURATION = (12.0, 20.0)
EVENT_LEN = (1.5, 5.0)
GAP_LEN = (0.5, 3.0)
LEAD = (0.0, 2.0)            # idle time before the first main event
TAIL = 0.25                  # the last event ends at least this long before the clip does
MAX_MAIN_EVENTS = 4
_TRIES = 30


def _clip_duration(rng: np.random.Generator, fps: int, bounds: tuple[float, float]) -> float:
    """A duration in ``bounds`` that is a whole number of frames (video and record agree)."""
    return round(float(rng.uniform(*bounds)) * fps) / fps


def _try_event(rng: np.random.Generator, obj: dict, start: float, end: float, used: set[str],
               duration: float, fps: int, size: int) -> dict | None:
    """A new event of ``obj`` on ``[start, end]`` whose motion is not in ``used`` and whose path fits."""
    for _ in range(_TRIES):
        m = _sample_motion(rng, obj, exclude="stay")
        if m in used:
            continue
        ev = _event(m, rng, start, end)
        obj["events"].append(ev)
        if path_fits(obj, duration, fps, size):
            return ev
        obj["events"].pop()
    return None


def _main_events(rng: np.random.Generator, main: dict, duration: float, fps: int, size: int,
                 p_repeat: float) -> None:
    main["events"] = []
    used: set[str] = set()
    t = float(rng.uniform(*LEAD))
    while len(main["events"]) < MAX_MAIN_EVENTS:
        length = float(rng.uniform(*EVENT_LEN))
        end = min(t + length, duration - TAIL)
        if end - t < EVENT_LEN[0]:
            break
        ev = _try_event(rng, main, t, end, used, duration, fps, size)
        if ev is None:
            break
        used.add(ev["motion"])
        t = ev["end"] + float(rng.uniform(*GAP_LEN))
    evs = main["events"]
    if len(evs) >= 3 and rng.random() < p_repeat:
        # the last event repeats the first (same motion and speed): a query with two windows
        last = evs.pop()
        evs.append({**evs[0], "start": last["start"], "end": last["end"]})
        if not path_fits(main, duration, fps, size):
            evs[-1] = last


def _companion_events(rng: np.random.Generator, comp: dict, duration: float, fps: int, size: int) -> None:
    comp["events"] = []
    used: set[str] = set()
    for _ in range(int(rng.integers(0, 3))):
        length = float(rng.uniform(1.5, 4.0))
        start = float(rng.uniform(0.0, duration - TAIL - length))
        if any(start < e["end"] + 0.5 and e["start"] < start + length + 0.5 for e in comp["events"]):
            continue   # its own events never overlap (one motion at a time)
        ev = _try_event(rng, comp, start, start + length, used, duration, fps, size)
        if ev is not None:
            used.add(ev["motion"])
    comp["events"].sort(key=lambda e: e["start"])


def sample_untrimmed(rng: np.random.Generator, fps: int = 8, size: int = 64,
                     duration: tuple[float, float] = DURATION, p_companion: float = 0.6,
                     p_repeat: float = 0.15, p_silent: float = 0.2) -> dict[str, Any]:
    """The ground truth of one untrimmed clip (see the module doc for the timeline)."""
    d = _clip_duration(rng, fps, duration)
    while True:
        main = _sample_object(rng)
        main["role"] = "main"
        _main_events(rng, main, d, fps, size, p_repeat)
        if len(main["events"]) >= 2:
            break
    objects = [main]
    if rng.random() < p_companion:
        comp = sample_companion(rng, main)
        comp["role"] = "companion"
        _companion_events(rng, comp, d, fps, size)
        objects.append(comp)
    return {**finish_scene(rng, objects, p_silent), "duration": d}


def timeline(scene: dict[str, Any]) -> list[tuple[str, str, float, float]]:
    """Every event as ``(role, label, start_s, end_s)`` in time order (labels like ``left:fast``)."""
    rows = []
    for obj in scene["objects"]:
        for e in obj["events"]:
            label = e["motion"] if e["speed"] is None else f"{e['motion']}:{e['speed']}"
            rows.append((obj["role"], label, e["start"], e["end"]))
    return sorted(rows, key=lambda r: (r[2], r[0]))
