"""The embedded world: procedurally rendered multilingual video clips with ground truth.

Every clip is a real MP4 (H.264 video, AAC audio; silent clips have no audio stream):
64x64 pixels, 8 fps, 3 s, 16 kHz mono by default. One or two objects move on a dim,
cluttered background; their motions can only be told apart over time, and their
material only by ear. ``mvkit synth --out DIR`` writes the layout of docs/DESIGN.md
("The embedded world on disk"); :func:`load_world` reads it; :func:`ensure_world`
makes the default world once under ``mvkit_home()/worlds/``.

``VideoRecord.attributes`` schema (ground truth)::

    {"objects": [                                   # 1 or 2; objects[0] is the main one
        {"role": "main" | "companion",
         "color": red|green|blue|yellow|white|purple, "shape": circle|square|triangle|cross,
         "size": small|big, "texture": plain|striped|dotted,
         "material": metal|wood,                    # invisible: metal rings, wood knocks
         "events": [{"motion": left|right|up|down|grow|shrink|spin|bounce|stay,
                     "speed": slow|fast|None,       # None for "stay"
                     "start": s, "end": s}]},       # main: 1 or 2 events in sequence
        ...],
     "audio": bool,                                 # False: the MP4 has no audio stream
     "sound": "ring" | "knock" | "none",            # the main object's material, if audible
     "n_events": 1 | 2,
     "twin_of": video_id | None,                    # same visible content, other material
     "clutter": int}                                # number of background specks

``VideoRecord.events`` = ((label, start_s, end_s), ...) for the main object, label
``"left:fast"`` or ``"stay"``. ``CaptionRecord.attributes`` = what the caption mentions
(schema and the machine-translation noise model in :mod:`mvkit.data.synth.captions`);
translated captions add ``"noise"``: a list of ``{"op", "tag", "attr", "destroyed"}``.

Captions: ids are ``<video>#<lang>#<k>`` (human), ``<video>#en2<lang>#0`` (machine
translation of ``<video>#en#0``), ``<video>#en2<lang>2en#0`` (its back-translation, lang
en), in the style of the cross-lingual CCR caption files.

RUDDER probes (decision): each clip gets four probe captions -- its object with its
action, its object with another action, another object with its action, neither -- in
English and in one RUDDER language (rotating hi/mr/ta/te/kn/ml). They are
``CaptionRecord`` s of kind ``human`` whose ``video_id`` is the clip they probe, whose id
starts with ``rudder:`` and whose attributes carry ``"partial_for": video_id``; their
0/1/2 labels (computed from attribute overlap) are in ``partial.jsonl``. Because a
probe is not a caption *of* its clip, :func:`load_world` leaves probes and labels out
unless ``partial=True``, and :func:`mvkit.data.attributes.semantic_positives` does not
count the probed clip as a positive by default.
"""
from mvkit.data.synth.world import (
    DEFAULT_VIDEOS,
    SMOKE_VIDEOS,
    WORLD_LANGS,
    ensure_world,
    generate_world,
    is_partial_caption,
    load_world,
    world_is_complete,
)

__all__ = ["DEFAULT_VIDEOS", "SMOKE_VIDEOS", "WORLD_LANGS", "ensure_world", "generate_world",
           "is_partial_caption", "load_world", "world_is_complete"]
