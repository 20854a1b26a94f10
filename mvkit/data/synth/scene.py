"""What happens in one clip: objects, their attributes and timed events, sampled from a seed.

The attribute spaces are deliberately small (a tiny model trained on ~1k clips on a CPU
can learn them) yet combine into ~10^5 distinct clips, so retrieval is far from trivial.
Motions differ only over time (a single frame cannot tell left from right, or grow from
shrink), and the material of an object (metal or wood) is invisible: only the sound it
makes tells them apart. "Twin" clips copy another clip's visible content and flip the
material, so only audio separates them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

COLORS = ("red", "green", "blue", "yellow", "white", "purple")
SHAPES = ("circle", "square", "triangle", "cross")
SIZES = ("small", "big")
TEXTURES = ("plain", "striped", "dotted")
MATERIALS = ("metal", "wood")
MOTIONS = ("left", "right", "up", "down", "grow", "shrink", "spin", "bounce", "stay")
SPEEDS = ("slow", "fast")
SOUNDS = ("ring", "knock", "none")   # metal rings, wood knocks, "none" = no audio stream
OBJECT_ATTRS = ("color", "shape", "size", "texture", "material")
MATERIAL_SOUND = {"metal": "ring", "wood": "knock"}

# opposite motions make good two-event sequences (left then right needs time order)
_OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up", "grow": "shrink",
             "shrink": "grow"}


def _sample_object(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "color": str(rng.choice(COLORS)),
        "shape": str(rng.choice(SHAPES)),
        "size": str(rng.choice(SIZES)),
        "texture": str(rng.choice(TEXTURES)),
        "material": str(rng.choice(MATERIALS)),
    }


def _sample_motion(rng: np.random.Generator, obj: dict, exclude: str | None = None) -> str:
    """A motion visible on this object (a plain circle spinning looks still: not allowed)."""
    while True:
        m = str(rng.choice(MOTIONS))
        if m == exclude:
            continue
        if m == "spin" and obj["shape"] == "circle" and obj["texture"] == "plain":
            continue
        return m


def _event(motion: str, rng: np.random.Generator, start: float, end: float) -> dict[str, Any]:
    speed = None if motion == "stay" else str(rng.choice(SPEEDS))
    return {"motion": motion, "speed": speed, "start": round(start, 3), "end": round(end, 3)}


def sample_scene(rng: np.random.Generator, duration: float, p_two_objects: float = 0.35,
                 p_two_events: float = 0.35, p_silent: float = 0.2) -> dict[str, Any]:
    """Sample the ground-truth attributes of one clip (the schema of ``VideoRecord.attributes``)."""
    main = _sample_object(rng)
    lead = float(rng.uniform(0.0, 0.3))
    tail = float(rng.uniform(0.0, 0.3))
    if rng.random() < p_two_events:
        m1 = _sample_motion(rng, main)
        # half the time the second event undoes the first: only order tells them apart
        if m1 in _OPPOSITE and rng.random() < 0.5:
            m2 = _OPPOSITE[m1]
        else:
            m2 = _sample_motion(rng, main, exclude=m1)
        mid = duration / 2
        events = [_event(m1, rng, lead, mid), _event(m2, rng, mid, duration - tail)]
    else:
        events = [_event(_sample_motion(rng, main), rng, lead, duration - tail)]
    main["role"] = "main"
    main["events"] = events
    objects = [main]
    if rng.random() < p_two_objects:
        comp = sample_companion(rng, main)
        m = "stay" if rng.random() < 0.4 else _sample_motion(rng, comp)
        comp["role"] = "companion"
        comp["events"] = [_event(m, rng, 0.0, duration)]
        objects.append(comp)
    return finish_scene(rng, objects, p_silent)


def sample_companion(rng: np.random.Generator, main: dict[str, Any]) -> dict[str, Any]:
    """A second object that differs from ``main`` in colour or shape, made of the same material."""
    while True:
        comp = _sample_object(rng)
        if (comp["color"], comp["shape"]) != (main["color"], main["shape"]):
            break
    comp["material"] = main["material"]   # one material per clip: the sound is unambiguous
    return comp


def finish_scene(rng: np.random.Generator, objects: list[dict[str, Any]], p_silent: float) -> dict[str, Any]:
    """The scene dict around its objects: whether it has audio, its sound, clutter (schema in the package doc)."""
    audio = bool(rng.random() >= p_silent)
    return {
        "objects": objects,
        "audio": audio,
        "sound": MATERIAL_SOUND[objects[0]["material"]] if audio else "none",
        "n_events": len(objects[0]["events"]),
        "twin_of": None,
        "clutter": int(rng.integers(2, 7)),
    }


def make_twin(scene: dict[str, Any], source_id: str) -> dict[str, Any]:
    """Same visible content, other material (and so the other sound); both have audio."""
    import copy
    twin = copy.deepcopy(scene)
    flip = {"metal": "wood", "wood": "metal"}
    for o in twin["objects"]:
        o["material"] = flip[o["material"]]
    twin["audio"] = True
    twin["sound"] = MATERIAL_SOUND[twin["objects"][0]["material"]]
    twin["twin_of"] = source_id
    return twin


def event_tuples(scene: dict[str, Any]) -> tuple:
    """``VideoRecord.events``: ((label, start_s, end_s), ...) of the main object's events."""
    return tuple(
        (e["motion"] if e["speed"] is None else f"{e['motion']}:{e['speed']}", e["start"], e["end"])
        for e in scene["objects"][0]["events"]
    )
