"""Ground-truth matching for the embedded world: which videos a caption truly describes,
and which attribute a wrong retrieval confused.

A caption's ``attributes`` say what it mentions (schema in :mod:`mvkit.data.synth.captions`);
a video's ``attributes`` what it shows (schema in :mod:`mvkit.data.synth`). A video
*satisfies* a caption when

* some object of the video has every mentioned attribute of ``object`` and performs
  every mentioned event (motion, and speed where mentioned); with ``order`` the two
  events happen in that order;
* likewise for ``object2`` / ``events2`` (bound to any object of the video);
* the video's ``sound`` equals the mentioned one.

Machine-translated and back-translated captions carry a ``noise`` record; attributes
their noise destroyed (dropped or wrong-sense words, swapped events) no longer count
as mentioned (:func:`effective_mention`). So "semantic positives" reward a model for
retrieving any clip the caption fits, not only the one it was written for.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

OBJECT_ATTRS = ("color", "shape", "size", "texture", "material")
# confusion names: a material is only audible, so confusing it is a "sound" confusion
_CONFUSION_NAME = {"color": "color", "shape": "shape", "size": "size", "texture": "texture",
                   "material": "sound", "motion": "motion", "speed": "speed", "sound": "sound",
                   "order": "order"}


def effective_mention(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a caption still says after its translation noise (destroyed attributes removed)."""
    if not attrs:
        return {}
    m = copy.deepcopy({k: v for k, v in attrs.items() if k in
                       ("object", "events", "order", "object2", "events2", "sound")})
    gone_events: dict[str, set[int]] = {"events": set(), "events2": set()}
    for op in attrs.get("noise", ()) or ():
        if not op.get("destroyed"):
            continue
        tag = op.get("tag") or ""
        if tag == "order":
            m["order"] = False
        elif tag == "sound":
            m.pop("sound", None)
        elif tag.startswith(("o2.", "o.")):
            key = "object2" if tag.startswith("o2.") else "object"
            m.get(key, {}).pop(tag.split(".", 1)[1], None)
        elif tag[:1] in ("e", "f") and "." in tag:
            key = "events" if tag[0] == "e" else "events2"
            i, field = int(tag[1:].split(".")[0]), tag.split(".")[1]
            evs = m.get(key, [])
            if i < len(evs):
                if field == "motion":
                    gone_events[key].add(i)
                else:
                    evs[i].pop(field, None)
    for key, gone in gone_events.items():
        if gone:
            m[key] = [e for i, e in enumerate(m.get(key, [])) if i not in gone]
            if key == "events":
                m["order"] = False
    return m


# ---- scalar reference (also used for partial labels and failure analysis) -----------------

def _obj_ok(obj: Mapping, mobj: Mapping) -> bool:
    return all(obj.get(a) == v for a, v in mobj.items())


def _events_ok(obj: Mapping, mevents: Sequence[Mapping], order: bool) -> bool:
    evs = obj.get("events", [])

    def has(me: Mapping, e: Mapping) -> bool:
        return e["motion"] == me["motion"] and ("speed" not in me or e.get("speed") == me["speed"])

    if order and len(mevents) == 2:
        return len(evs) == 2 and has(mevents[0], evs[0]) and has(mevents[1], evs[1])
    return all(any(has(me, e) for e in evs) for me in mevents)


def satisfies(mention: Mapping[str, Any], video_attrs: Mapping[str, Any]) -> bool:
    """True when the video shows everything the (effective) mention says."""
    objs = video_attrs["objects"]
    for okey, ekey, okey_order in (("object", "events", "order"), ("object2", "events2", None)):
        if okey not in mention and ekey not in mention:
            continue
        mobj, mev = mention.get(okey, {}), mention.get(ekey, [])
        order = bool(mention.get(okey_order)) if okey_order else False
        if not any(_obj_ok(o, mobj) and _events_ok(o, mev, order) for o in objs):
            return False
    return "sound" not in mention or video_attrs["sound"] == mention["sound"]


# ---- vectorised semantic positives -------------------------------------------------------

def _video_arrays(videos: Sequence[Any]) -> dict[str, Any]:
    """Integer codes of every video's objects and events, for comparison in NumPy."""
    vocab: dict[str, dict[str, int]] = {}

    def code(kind: str, value: Any) -> int:
        d = vocab.setdefault(kind, {})
        return d.setdefault(value, len(d))

    G = len(videos)
    n_obj = max((len(v.attributes["objects"]) for v in videos), default=1)
    n_ev = max((len(o["events"]) for v in videos for o in v.attributes["objects"]), default=1)
    attrs = {a: np.full((G, n_obj), -1, np.int32) for a in OBJECT_ATTRS}
    motion = np.full((G, n_obj, n_ev), -1, np.int32)
    speed = np.full((G, n_obj, n_ev), -2, np.int32)
    n_events = np.zeros((G, n_obj), np.int32)
    sound = np.full(G, -1, np.int32)
    for g, v in enumerate(videos):
        va = v.attributes
        sound[g] = code("sound", va["sound"])
        for k, o in enumerate(va["objects"]):
            for a in OBJECT_ATTRS:
                attrs[a][g, k] = code(a, o[a])
            n_events[g, k] = len(o["events"])
            for j, e in enumerate(o["events"]):
                motion[g, k, j] = code("motion", e["motion"])
                speed[g, k, j] = code("speed", e.get("speed"))
    return {"vocab": vocab, "attrs": attrs, "motion": motion, "speed": speed, "n_events": n_events,
            "sound": sound, "exists": attrs["color"] >= 0}


def _lookup(arr: dict, kind: str, value: Any) -> int:
    return arr["vocab"].get(kind, {}).get(value, -99)   # -99: no video has it


def _object_event_mask(arr: dict, mobj: Mapping, mev: Sequence[Mapping], order: bool) -> np.ndarray:
    """[G] bool: some object matches ``mobj`` and performs ``mev``."""
    ok = arr["exists"].copy()                                     # [G, K]
    for a, v in mobj.items():
        ok &= arr["attrs"][a] == _lookup(arr, a, v)
    motion, speed = arr["motion"], arr["speed"]                   # [G, K, E]

    def ev_match(me: Mapping) -> np.ndarray:                      # [G, K, E]
        m = motion == _lookup(arr, "motion", me["motion"])
        if "speed" in me:
            m &= speed == _lookup(arr, "speed", me["speed"])
        return m

    if order and len(mev) == 2 and motion.shape[2] >= 2:
        ok &= (arr["n_events"] == 2) & ev_match(mev[0])[:, :, 0] & ev_match(mev[1])[:, :, 1]
    elif order and len(mev) == 2:
        ok &= False
    else:
        for me in mev:
            ok &= ev_match(me).any(axis=2)
    return ok.any(axis=1)


def semantic_positives(captions: Sequence[Any], videos: Sequence[Any]) -> np.ndarray:
    """``bool [Q, G]``: video g satisfies everything caption q (still) mentions.

    A caption's own video is always a positive, except for RUDDER probe captions
    (``attributes["partial_for"]``), which may describe a different clip than the one
    they were written for. Captions without attributes match only their own video.
    Distinct requirements are evaluated once each over all videos in NumPy, so
    5k x 2k takes well under a second.
    """
    Q, G = len(captions), len(videos)
    out = np.zeros((Q, G), dtype=bool)
    if G == 0 or Q == 0:
        return out
    arr = _video_arrays(videos)
    cache: dict[str, np.ndarray] = {}

    for q, c in enumerate(captions):
        if not c.attributes:
            continue
        m = effective_mention(c.attributes)
        row = np.ones(G, dtype=bool)
        for okey, ekey, order in (("object", "events", bool(m.get("order"))), ("object2", "events2", False)):
            if okey not in m and ekey not in m:
                continue
            mobj, mev = m.get(okey, {}), m.get(ekey, [])
            key = json.dumps([mobj, mev, order], sort_keys=True)
            if key not in cache:     # distinct requirements are few: evaluate each once
                cache[key] = _object_event_mask(arr, mobj, mev, order)
            row &= cache[key]
        if "sound" in m:
            row &= arr["sound"] == _lookup(arr, "sound", m["sound"])
        out[q] = row
    vidx = {v.video_id: i for i, v in enumerate(videos)}
    for q, c in enumerate(captions):
        if c.attributes and c.attributes.get("partial_for"):
            continue
        g = vidx.get(c.video_id)
        if g is not None:
            out[q, g] = True
    return out


# ---- failure analysis and partial labels -------------------------------------------------

def _closeness(obj: Mapping, mobj: Mapping, mev: Sequence[Mapping], objects: list) -> tuple[int, int]:
    """How many mentioned attributes and motions an object has (ties: the main object)."""
    motions = [e["motion"] for e in obj["events"]]
    return (sum(obj.get(a) == v for a, v in mobj.items()) + sum(me["motion"] in motions for me in mev),
            -objects.index(obj))


def confused_attributes(caption: Any, video: Any) -> list[str]:
    """Which mentioned attributes the video gets wrong (empty when it satisfies the caption).

    Names: color, shape, size, texture, motion, speed, sound (also a wrong material,
    which only sound reveals), order; plus ``language_noise`` when the caption is a
    translation whose noise destroyed one of the confused attributes. The caption's
    *intended* mention is compared, with the closest object of the video.
    """
    attrs = caption.attributes or {}
    va = video.attributes or {}
    if not attrs or not va:
        return []
    confused: list[str] = []
    destroyed = {op.get("attr") for op in attrs.get("noise", ()) or () if op.get("destroyed")}

    def add(name: str) -> None:
        if name not in confused:
            confused.append(name)

    for okey, ekey in (("object", "events"), ("object2", "events2")):
        if okey not in attrs and ekey not in attrs:
            continue
        mobj, mev = attrs.get(okey, {}), attrs.get(ekey, [])
        order = bool(attrs.get("order")) and okey == "object"

        best = max(va["objects"], key=lambda o, mobj=mobj, mev=mev: _closeness(o, mobj, mev, va["objects"]))
        for a, v in mobj.items():
            if best.get(a) != v:
                add(_CONFUSION_NAME[a])
        evs = best["events"]
        for me in mev:
            hits = [e for e in evs if e["motion"] == me["motion"]]
            if not hits:
                add("motion")
            elif "speed" in me and not any(e.get("speed") == me["speed"] for e in hits):
                add("speed")
        in_order = len(evs) == 2 and [e["motion"] for e in evs] == [me["motion"] for me in mev]
        if order and len(mev) == 2 and "motion" not in confused and not in_order:
            add("order")
    if "sound" in attrs and va.get("sound") != attrs["sound"]:
        add("sound")
    if any(_CONFUSION_NAME.get(d) in confused for d in destroyed if d):
        confused.append("language_noise")
    return confused


def partial_label(mention: Mapping[str, Any], video_attrs: Mapping[str, Any]) -> int:
    """RUDDER relevance by attribute overlap: 0 positive, 1 partial, 2 negative.

    Positive: the video satisfies the mention. Partial: some object matches the
    mentioned object, or the mentioned motions all occur in the video (RUDDER's noun
    or verb overlap), but not both bound together. Negative: neither.
    """
    if satisfies(mention, video_attrs):
        return 0
    objs = video_attrs["objects"]
    obj_ok = any(_obj_ok(o, mention.get("object", {})) for o in objs)
    motions = {e["motion"] for o in objs for e in o["events"]}
    act_ok = bool(mention.get("events")) and all(e["motion"] in motions for e in mention["events"])
    return 1 if (obj_ok or act_ok) else 2
