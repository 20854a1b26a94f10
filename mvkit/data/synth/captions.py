"""Captions for the embedded world: what a caption mentions, how each language says it,
and how machine translation garbles it.

A *mention* (``CaptionRecord.attributes``) is the part of a clip a caption talks about::

    {"object":  {"color": "red", "shape": "circle", ...},   # any subset of OBJECT_ATTRS
     "events":  [{"motion": "left", "speed": "fast"}, ...], # 0-2 events of that object
     "order":   True,                                       # two events said "first ... then"
     "object2": {...}, "events2": [...],                    # the other object, if mentioned
     "sound":   "ring" | "knock" | "none"}                  # absent keys = not mentioned

Machine-translation noise model (applied to the English caption's mention, once per
translated caption; each attribute word is hit independently with probability
``rate``):

* ``drop``        the word is left out (destroys the attribute);
* ``wrong_sense`` a word with a second sense is translated in that sense ("left" ->
  "remaining", "fast" -> "firmly", "square" -> "town square", "ring" -> "finger ring",
  "plain" -> "prairie", "cross" -> "angry one"; destroys it); words without one are dropped;
* ``leak``        the English word is left untranslated (meaning kept, language mixed);
* ``reorder``     with probability ``rate`` per caption: two events said in sequence come
  out swapped (destroys ``order``), else two adjectives swap places (harmless).

Each hit is recorded in ``attributes["noise"]`` as ``{"op", "tag", "attr", "destroyed"}``;
back-translations to English carry the same noise (wrong senses come back as their
English gloss, dropped words stay dropped).
"""
from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np

from mvkit.data.synth.lexicon import LEXICONS, WRONG_SENSE, Lexicon
from mvkit.data.synth.scene import COLORS, MOTIONS, SHAPES

Mention = dict[str, Any]
_ADJ_ATTRS = ("size", "color", "texture", "material")


# ---- sampling what a caption mentions ------------------------------------------------------

def _mention_object(rng: np.random.Generator, obj: dict, audio: bool, p_detail: float = 0.35) -> dict:
    m: dict[str, str] = {}
    if rng.random() < 0.9:
        m["shape"] = obj["shape"]
    if rng.random() < 0.85 or "shape" not in m:
        m["color"] = obj["color"]
    for a in ("size", "texture"):
        if rng.random() < p_detail:
            m[a] = obj[a]
    if audio and rng.random() < p_detail:
        m["material"] = obj["material"]
    return m


def _mention_events(rng: np.random.Generator, events: list[dict], p_speed: float = 0.5) -> list[dict]:
    out = []
    for e in events:
        d = {"motion": e["motion"]}
        if e["speed"] is not None and rng.random() < p_speed:
            d["speed"] = e["speed"]
        out.append(d)
    return out


def sample_mention(rng: np.random.Generator, scene: dict[str, Any]) -> Mention:
    """What one human caption of this clip mentions: a random subset of its attributes."""
    main = scene["objects"][0]
    m: Mention = {"object": _mention_object(rng, main, scene["audio"])}
    if rng.random() < 0.92:
        ev = main["events"]
        if len(ev) == 2 and rng.random() < 0.75:
            m["events"] = _mention_events(rng, ev)
            m["order"] = bool(rng.random() < 0.8)
        else:
            m["events"] = _mention_events(rng, [ev[int(rng.integers(len(ev)))]])
    if len(scene["objects"]) > 1 and rng.random() < 0.5:
        comp = scene["objects"][1]
        m["object2"] = _mention_object(rng, comp, False, p_detail=0.2)
        if rng.random() < 0.6:
            m["events2"] = _mention_events(rng, comp["events"])
    if rng.random() < 0.3:
        m["sound"] = scene["sound"]
    return m


def partial_mentions(rng: np.random.Generator, scene: dict[str, Any]) -> list[tuple[str, Mention]]:
    """RUDDER-style probes of a clip: its object with its action, its object with another
    action, another object with its action, and neither. Labels are computed afterwards
    from attribute overlap (:func:`mvkit.data.attributes.partial_label`), not assumed."""
    main = scene["objects"][0]
    own_obj = {"color": main["color"], "shape": main["shape"]}
    if rng.random() < 0.4:
        own_obj["size"] = main["size"]
    own_ev = [_mention_events(rng, main["events"][:1])[0]]
    motions = {e["motion"] for o in scene["objects"] for e in o["events"]}
    other_m = str(rng.choice([m for m in MOTIONS if m not in motions]))
    other_ev = [{"motion": other_m}]
    shown = {(o["color"], o["shape"]) for o in scene["objects"]}
    while True:
        other_obj = {"color": str(rng.choice(COLORS)), "shape": str(rng.choice(SHAPES))}
        if (other_obj["color"], other_obj["shape"]) not in shown and other_obj["color"] != main["color"] \
                and other_obj["shape"] != main["shape"]:
            break
    return [
        ("full", {"object": own_obj, "events": own_ev}),
        ("object", {"object": dict(own_obj), "events": other_ev}),
        ("action", {"object": other_obj, "events": [dict(own_ev[0])]}),
        ("neither", {"object": dict(other_obj), "events": [dict(other_ev[0])]}),
    ]


# ---- realisation -------------------------------------------------------------------------

def _pick(rng: np.random.Generator | None, options: list) -> Any:
    return options[0] if rng is None else options[int(rng.integers(len(options)))]


def _form(value: Any, gender: str, agree: dict[str, str]) -> str:
    if isinstance(value, dict):
        value = value.get(gender, next(iter(value.values())))
    return value.format(**agree) if agree else value


class _Out:
    """Collects (text, tag) segments, applying noise ops to tagged ones.

    ``leak``: the language whose word a "leak" op leaves untranslated (the source language:
    English for translations out of English, the caption's language for translate-test).
    """

    def __init__(self, lang: str, noise: dict[str, str] | None, mention_values: dict[str, tuple[str, str]],
                 leak: str = "en"):
        self.lang, self.noise, self.values = lang, noise or {}, mention_values
        self.leak = LEXICONS[leak]
        self.segs: list[tuple[str, str | None]] = []

    def add(self, text: str, tag: str | None = None, english: str | None = None) -> None:
        op = self.noise.get(tag) if tag else None
        if op == "drop":
            return
        if op == "wrong_sense":
            text = WRONG_SENSE[self.values[tag]][self.lang]
        elif op == "leak" and english is not None:
            text = english
        self.segs.append((text, tag))


def _np(out: _Out, lx: Lexicon, obj: dict, prefix: str, rng) -> None:
    shape = obj.get("shape", "object")
    noun, gender = _pick(rng, lx.nouns[shape])
    agree = lx.agree.get(gender, {})
    art = lx.art.get(gender, "") if isinstance(lx.art, dict) else lx.art
    for slot in lx.np_order:
        if slot == "art":
            if art:
                out.add(art)
        elif slot == "noun":
            out.add(noun, f"{prefix}.shape" if "shape" in obj else None,
                    english=out.leak.nouns[shape][0][0])
        elif slot in obj:
            text = _form(_pick(rng, lx.adj[slot][obj[slot]]), gender, agree)
            out.add(text, f"{prefix}.{slot}", english=_form(out.leak.adj[slot][obj[slot]][0], gender, {}))
    if lx.subj:
        out.add(lx.subj)


def _vp(out: _Out, lx: Lexicon, ev: dict | None, tag: str, gender: str, rng, then_infix: bool) -> None:
    motion = ev["motion"] if ev else "appear"
    tpl = _form(_pick(rng, lx.motions[motion]), gender, {})
    tpl = tpl.format(**{**lx.agree.get(gender, {}), "s": "\x00", "t": "\x01"}) if "{" in tpl else tpl
    mtag = f"{tag}.motion" if ev else None
    en_motion = re.sub(r"\{[a-z]+\}", "", _form(out.leak.motions[motion][0], gender, {}))
    op = out.noise.get(mtag) if mtag else None
    first_motion = True
    for part in re.split("(\x00|\x01)", tpl):
        if part == "\x00":
            if ev and "speed" in ev:
                out.add(_pick(rng, lx.speed[ev["speed"]]), f"{tag}.speed",
                        english=out.leak.speed[ev["speed"]][0])
        elif part == "\x01":
            if then_infix and lx.then_infix:
                out.add(lx.then_infix)
        elif part.strip():
            # a motion template may be split around the speed slot: a noise op replaces
            # the whole phrase once (its first piece) and removes the other pieces
            if op in ("wrong_sense", "leak") and not first_motion:
                continue
            out.add(part.strip(), mtag, english=en_motion)
            first_motion = False


def _clause(out: _Out, lx: Lexicon, obj: dict, events: list[dict], order: bool, prefix: str,
            eprefix: str, rng, sound: str | None) -> None:
    shape = obj.get("shape", "object")
    gender = lx.nouns[shape][0][1]
    _np(out, lx, obj, prefix, rng)
    if sound is not None and lx.sound_pos == "pre":
        out.add(_pick(rng, lx.sound[sound]), "sound", english=out.leak.sound[sound][0])
    if not events:
        _vp(out, lx, None, "", gender, rng, False)
    for i, ev in enumerate(events):
        if i == 1:
            out.add(lx.then if order else lx.and_)
        _vp(out, lx, ev, f"{eprefix}{i}", gender, rng, then_infix=(i == 1 and order))
    if sound is not None and lx.sound_pos == "end":
        out.add(_pick(rng, lx.sound[sound]), "sound", english=out.leak.sound[sound][0])


def _mention_values(m: Mention) -> dict[str, tuple[str, str]]:
    """tag -> (attribute, value), for the wrong-sense table."""
    vals: dict[str, tuple[str, str]] = {}
    for key, p in (("object", "o"), ("object2", "o2")):
        for a, v in m.get(key, {}).items():
            vals[f"{p}.{a}"] = (a, v)
    for key, p in (("events", "e"), ("events2", "f")):
        for i, ev in enumerate(m.get(key, [])):
            vals[f"{p}{i}.motion"] = ("motion", ev["motion"])
            if "speed" in ev:
                vals[f"{p}{i}.speed"] = ("speed", ev["speed"])
    if "sound" in m:
        vals["sound"] = ("sound", m["sound"])
    return vals


def _join(lx: Lexicon, segs: list[tuple[str, str | None]]) -> str:
    text = lx.sep.join(s for s, _ in segs)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,，、。])", r"\1", text)
    text = text.replace("。。", "。").strip(" ,，、")
    if lx.code == "en":
        text = re.sub(r"\ba (?=[aeiou])", "an ", text)
    elif lx.code == "fr":
        text = re.sub(r"\bque (?=un)", "qu'", text)
    if lx.capitalize and text:
        text = text[0].upper() + text[1:]
    return text + lx.end


def realise_segments(lang: str, m: Mention, rng: np.random.Generator | None = None,
                     noise: dict[str, str] | None = None, swap_adjectives: bool = False,
                     leak: str = "en") -> list[tuple[str, str | None]]:
    """The caption as (text, tag) segments; ``rng=None`` picks first synonyms (MT style);
    ``leak`` is the language of words a "leak" noise op leaves untranslated."""
    lx = LEXICONS[lang]
    out = _Out(lang, noise, _mention_values(m), leak)
    sound = m.get("sound")
    two = "object2" in m
    _clause(out, lx, m["object"], m.get("events", []), m.get("order", False), "o", "e", rng,
            sound if not two or lx.sound_pos == "pre" else None)
    if two:
        out.add(lx.while_)
        _clause(out, lx, m["object2"], m.get("events2", []), False, "o2", "f", rng, None)
        if sound is not None and lx.sound_pos == "end":
            out.add(_pick(rng, lx.sound[sound]), "sound", english=out.leak.sound[sound][0])
    segs = out.segs
    if swap_adjectives:
        idx = [i for i, (_, t) in enumerate(segs) if t and t.startswith("o.") and t[2:] in _ADJ_ATTRS]
        if len(idx) >= 2:
            i, j = idx[0], idx[1]
            segs[i], segs[j] = segs[j], segs[i]
    return segs


def realise(lang: str, m: Mention, rng: np.random.Generator | None = None,
            noise: dict[str, str] | None = None, swap_adjectives: bool = False, leak: str = "en") -> str:
    """One caption in ``lang`` for mention ``m`` (see :func:`realise_segments`)."""
    return _join(LEXICONS[lang], realise_segments(lang, m, rng, noise, swap_adjectives, leak))


_EN_FRAMES = ("{c}", "There is {c_lower}", "In this clip, {c_lower}", "We see that {c_lower}")


def realise_english(m: Mention, rng: np.random.Generator) -> str:
    """A human English paraphrase: random synonyms and a random sentence frame."""
    c = realise("en", m, rng)
    frame = _EN_FRAMES[int(rng.integers(len(_EN_FRAMES)))]
    if frame == "There is {c_lower}":
        # "There is a red circle that moves left."
        segs = realise_segments("en", m, rng)
        k = next((i for i, (_, t) in enumerate(segs) if t is not None and t.endswith(".shape")), None)
        if k is None or "object2" in m:
            return c
        head = " ".join(s for s, _ in segs[:k + 1])
        if not m.get("events"):          # "There is a red circle." (not "... that is shown")
            tail = " ".join(s for s, _ in segs[k + 2:])
            return _join(LEXICONS["en"], [(f"there is {head} {tail}", None)])
        tail = " ".join(s for s, _ in segs[k + 1:])
        return _join(LEXICONS["en"], [(f"there is {head} that {tail}", None)])
    return frame.format(c=c, c_lower=c[0].lower() + c[1:])


# ---- machine translation noise -----------------------------------------------------------

def sample_noise(rng: np.random.Generator, m: Mention, rate: float) -> tuple[Mention, dict[str, str], list[dict], bool]:
    """Pick the noise ops for one machine translation of mention ``m``.

    Returns the mention as the translation says it (events swapped by a reorder),
    the tag -> op map, the noise record (tags refer to the *original* mention) and
    whether two adjectives swap places.
    """
    said = copy.deepcopy(m)
    record: list[dict] = []
    swapped, swap_adj = False, False
    if rng.random() < rate:
        if len(said.get("events", [])) == 2 and said.get("order"):
            said["events"] = said["events"][::-1]
            swapped = True
            record.append({"op": "reorder", "tag": "order", "attr": "order", "destroyed": True})
        else:
            swap_adj = True
            record.append({"op": "reorder", "tag": None, "attr": None, "destroyed": False})
    ops: dict[str, str] = {}
    for tag, (attr, value) in _mention_values(said).items():
        if rng.random() >= rate:
            continue
        u = rng.random()
        if u < 0.35 and (attr, value) in WRONG_SENSE:
            op = "wrong_sense"
        elif u < 0.7:
            op = "drop"
        else:
            op = "leak"
        ops[tag] = op
        orig = tag
        if swapped and tag[:2] in ("e0", "e1"):
            orig = ("e1" if tag[:2] == "e0" else "e0") + tag[2:]
        record.append({"op": op, "tag": orig, "attr": attr, "destroyed": op != "leak"})
    return said, ops, record, swap_adj


def translate(lang: str, m: Mention, rng: np.random.Generator, rate: float) -> tuple[str, str, list[dict]]:
    """A noisy machine translation of mention ``m`` into ``lang`` and its back-translation.

    Returns ``(mt_text, back_translated_english, noise_record)``.
    """
    said, ops, record, swap_adj = sample_noise(rng, m, rate)
    mt = realise(lang, said, None, ops, swap_adj)
    bt_ops = {t: ("drop" if o == "drop" else "wrong_sense" if o == "wrong_sense" else "keep")
              for t, o in ops.items()}
    bt = realise("en", said, None, bt_ops, swap_adj)
    return mt, bt, record




def translate_to_english(lang: str, m: Mention, rng: np.random.Generator, rate: float) -> tuple[str, list[dict]]:
    """A noisy machine translation *into English* of a ``lang`` caption saying ``m`` (translate-test).

    The same noise model as :func:`translate`, applied in the other direction: dropped words,
    wrong senses (their English gloss), reordered events, and leaked words left in ``lang``.
    Returns ``(english_text, noise_record)``.
    """
    said, ops, record, swap_adj = sample_noise(rng, m, rate)
    return realise("en", said, None, ops, swap_adj, leak=lang), record
