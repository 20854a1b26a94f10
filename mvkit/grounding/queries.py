"""Grounding queries: which moments a sentence describes, and sentences that pick one.

A query's *mention* has the retrieval world's schema (:mod:`mvkit.data.synth.captions`)
restricted to one object: ``{"object": {...}, "events": [one event] or [two events],
"order": True for "first ... then ...", "sound": ...}``. Its ground truth is computed,
not assumed: :func:`describes` returns every moment of the clip that the mention fits --
a single event of an object with that appearance, motion (and speed, if said), or, for an
ordered pair, two consecutive events of one object (the moment runs from the first start
to the second end); a sound is only true of the main object's events in a clip with audio.

Targets (:func:`targets`): every event of every object, and for half of the clips one
ordered pair of consecutive main events. Targets whose full description fits the same
moments are merged, so a repeated event is one target with two windows.
:func:`sample_mention` draws what a human query says about a target (a random subset of
the attributes, as for retrieval captions) and then adds the attributes it needs -- colour,
shape, speed, size, texture, in that order -- until :func:`describes` returns exactly the
target's moments: every human query is unambiguous. Machine translations keep the
source's spans even when their noise destroys an attribute (real MT does the same).
"""
from __future__ import annotations

import copy
from itertools import pairwise
from typing import Any

import numpy as np

from mvkit.data.synth.captions import _mention_events, _mention_object

Mention = dict[str, Any]
_DISAMBIGUATE = ("color", "shape", "speed", "size", "texture")
VISIBLE_ATTRS = ("color", "shape", "size", "texture")


def _obj_fits(obj: dict, mobj: dict) -> bool:
    return all(obj.get(a) == v for a, v in mobj.items())


def _ev_fits(e: dict, me: dict) -> bool:
    return e["motion"] == me["motion"] and ("speed" not in me or e["speed"] == me["speed"])


def describes(m: Mention, scene: dict[str, Any]) -> list[tuple[float, float]]:
    """Every moment ``(start_s, end_s)`` of ``scene`` that mention ``m`` fits, in time order."""
    mobj, mev = m.get("object", {}), m.get("events", [])
    if not mev:
        return []
    out = []
    for obj in scene["objects"]:
        if not _obj_fits(obj, mobj):
            continue
        if "sound" in m and not (obj["role"] == "main" and scene["sound"] == m["sound"]):
            continue
        evs = obj["events"]
        if m.get("order") and len(mev) == 2:
            out += [(a["start"], b["end"]) for a, b in pairwise(evs)
                    if _ev_fits(a, mev[0]) and _ev_fits(b, mev[1])]
        elif len(mev) == 1:
            out += [(e["start"], e["end"]) for e in evs if _ev_fits(e, mev[0])]
    return sorted(set(out))


def _full(obj: dict, events: list[dict], audio: bool) -> Mention:
    """Everything true of ``events`` of ``obj`` (the most specific mention)."""
    m: Mention = {"object": {a: obj[a] for a in VISIBLE_ATTRS},
                  "events": [{"motion": e["motion"], "speed": e["speed"]} if e["speed"] else
                             {"motion": e["motion"]} for e in events]}
    if len(events) == 2:
        m["order"] = True
    if audio and obj["role"] == "main":
        m["object"]["material"] = obj["material"]
    return m


def targets(scene: dict[str, Any], rng: np.random.Generator, p_order: float = 0.5) -> list[dict[str, Any]]:
    """The moments queries are written about: ``[{"object": i, "events": [j, ...], "spans": [...]}]``."""
    out, seen = [], set()
    cands = [(i, [j]) for i, o in enumerate(scene["objects"]) for j in range(len(o["events"]))]
    main = scene["objects"][0]["events"]
    pairs = [j for j in range(len(main) - 1) if main[j]["motion"] != main[j + 1]["motion"]]
    if pairs and rng.random() < p_order:
        j = pairs[int(rng.integers(len(pairs)))]
        cands.append((0, [j, j + 1]))
    for i, js in cands:
        obj = scene["objects"][i]
        spans = tuple(describes(_full(obj, [obj["events"][j] for j in js], scene["audio"]), scene))
        if spans and spans not in seen:
            seen.add(spans)
            out.append({"object": i, "events": js, "spans": [list(s) for s in spans]})
    return out


def sample_mention(rng: np.random.Generator, scene: dict[str, Any], target: dict[str, Any]) -> Mention:
    """What one human query says about ``target``: random attributes, made unambiguous."""
    obj = scene["objects"][target["object"]]
    events = [obj["events"][j] for j in target["events"]]
    audible = scene["audio"] and obj["role"] == "main"
    m: Mention = {"object": _mention_object(rng, obj, audible), "events": _mention_events(rng, events)}
    if len(events) == 2:
        m["order"] = True
    if audible and rng.random() < 0.3:
        m["sound"] = scene["sound"]
    want = [tuple(s) for s in target["spans"]]
    for attr in _DISAMBIGUATE:
        if describes(m, scene) == want:
            return m
        if attr == "speed":
            for me, e in zip(m["events"], events):
                if e["speed"] is not None:
                    me["speed"] = e["speed"]
        else:
            m["object"][attr] = obj[attr]
    if describes(m, scene) != want:   # cannot happen for targets made by :func:`targets`
        raise AssertionError(f"mention {m} fits {describes(m, scene)}, target is {want}")
    return m


def copy_mention(m: Mention) -> Mention:
    """A deep copy (mentions are nested dicts that noise and realisation must not share)."""
    return copy.deepcopy(m)
