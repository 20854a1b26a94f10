import time

import numpy as np
import pytest

from mvkit.data.attributes import (
    confused_attributes,
    effective_mention,
    partial_label,
    satisfies,
    semantic_positives,
)
from mvkit.data.records import CaptionRecord, VideoRecord


def _obj(color="red", shape="circle", size="small", texture="plain", material="metal", events=()):
    return {"color": color, "shape": shape, "size": size, "texture": texture, "material": material,
            "events": [{"motion": m, "speed": s, "start": 0, "end": 1} for m, s in events]}


def _video(vid, objects, sound="ring"):
    return VideoRecord(vid, None, "test", attributes={"objects": objects, "sound": sound})


def _cap(cid, vid, attrs):
    return CaptionRecord(cid, vid, "en", "x", attributes=attrs)


A = _video("A", [_obj(events=[("left", "fast"), ("spin", "slow")])])
B = _video("B", [_obj(events=[("spin", "slow"), ("left", "fast")])], sound="knock")
C = _video("C", [_obj("blue", "square", events=[("left", "slow")]),
                 _obj("red", "circle", events=[("stay", None)])], sound="none")
VIDEOS = [A, B, C]


def _brute(caption, video):
    """Independent reference: spell every rule out for one pair."""
    if caption.attributes and caption.attributes.get("partial_for") is None and caption.video_id == video.video_id:
        return True
    if not caption.attributes:
        return caption.video_id == video.video_id
    m = effective_mention(caption.attributes)
    objs = video.attributes["objects"]
    for ok, ek in (("object", "events"), ("object2", "events2")):
        if ok not in m and ek not in m:
            continue
        found = False
        for o in objs:
            if any(o[a] != v for a, v in m.get(ok, {}).items()):
                continue
            evs = o["events"]
            want = m.get(ek, [])
            if ok == "object" and m.get("order") and len(want) == 2:
                good = len(evs) == 2 and all(
                    evs[i]["motion"] == want[i]["motion"] and want[i].get("speed", evs[i]["speed"]) == evs[i]["speed"]
                    for i in range(2))
            else:
                good = all(any(e["motion"] == w["motion"] and w.get("speed", e["speed"]) == e["speed"] for e in evs)
                           for w in want)
            found = found or good
        if not found:
            return False
    return "sound" not in m or m["sound"] == video.attributes["sound"]


@pytest.mark.parametrize("attrs,expected", [
    ({"object": {"color": "red"}, "events": [{"motion": "left"}, {"motion": "spin"}], "order": True}, "A"),
    ({"object": {"color": "red"}, "events": [{"motion": "left"}, {"motion": "spin"}], "order": False}, "AB"),
    ({"object": {"color": "red"}, "events": [{"motion": "left", "speed": "slow"}]}, ""),
    ({"object": {"shape": "square"}, "events": [{"motion": "left", "speed": "slow"}]}, "C"),
    # binding: the red circle in C stays; the left mover is the blue square
    ({"object": {"color": "red", "shape": "circle"}, "events": [{"motion": "left"}]}, "AB"),
    ({"object": {"color": "red"}, "sound": "knock"}, "B"),
    ({"object": {"color": "red"}, "object2": {"color": "blue"}, "events2": [{"motion": "left"}]}, "C"),
    ({"object": {"material": "metal"}, "events": [{"motion": "spin", "speed": "slow"}]}, "AB"),
])
def test_hand_computed_semantic_positives(attrs, expected):
    cap = _cap("q", "none-of-them", attrs)
    got = semantic_positives([cap], VIDEOS)[0]
    assert "".join(v.video_id for v, g in zip(VIDEOS, got) if g) == expected
    assert [satisfies(attrs, v.attributes) for v in VIDEOS] == list(got)


def test_own_video_always_positive_but_not_for_probes():
    attrs = {"object": {"color": "green"}}
    own, probe = _cap("c", "A", attrs), _cap("p", "A", {**attrs, "partial_for": "A"})
    got = semantic_positives([own, probe, _cap("n", "B", None)], VIDEOS)
    assert got.tolist() == [[True, False, False], [False, False, False], [False, True, False]]


def test_noise_destroyed_attributes_no_longer_count():
    attrs = {"object": {"color": "red", "shape": "circle"}, "events": [{"motion": "left"}, {"motion": "spin"}],
             "order": True, "sound": "ring",
             "noise": [{"op": "reorder", "tag": "order", "attr": "order", "destroyed": True},
                       {"op": "drop", "tag": "sound", "attr": "sound", "destroyed": True},
                       {"op": "leak", "tag": "o.color", "attr": "color", "destroyed": False}]}
    eff = effective_mention(attrs)
    assert eff["order"] is False and "sound" not in eff and eff["object"]["color"] == "red"
    assert semantic_positives([_cap("q", "zz", attrs)], VIDEOS)[0].tolist() == [True, True, False]
    dropped = effective_mention({**attrs, "noise": [{"op": "drop", "tag": "e0.motion", "attr": "motion",
                                                     "destroyed": True}]})
    assert dropped["events"] == [{"motion": "spin"}] and dropped["order"] is False


def test_vectorised_matches_brute_force_on_a_generated_world(tmp_path):
    from mvkit.data.synth import generate_world, load_world
    ds = load_world(generate_world(tmp_path / "w", 30, seed=11, workers=1), partial=True)
    caps = ds.captions[::3]
    got = semantic_positives(caps, ds.videos)
    ref = np.array([[_brute(c, v) for v in ds.videos] for c in caps])
    assert got.shape == (len(caps), 30) and (got == ref).all()
    assert 1.0 < got.sum(1).mean() < 10          # positives beyond the own video, far from all


def test_fast_enough_for_5k_by_2k():
    rng = np.random.default_rng(0)
    from mvkit.data.synth.captions import sample_mention
    from mvkit.data.synth.scene import sample_scene
    scenes = [sample_scene(rng, 3.0) for _ in range(2000)]
    videos = [VideoRecord(f"v{i}", None, "test", attributes=s) for i, s in enumerate(scenes)]
    caps = [_cap(f"c{q}", f"v{q % 2000}", sample_mention(rng, scenes[q % 2000])) for q in range(5000)]
    t = time.perf_counter()
    got = semantic_positives(caps, videos)
    assert time.perf_counter() - t < 10
    assert got[np.arange(5000), np.arange(5000) % 2000].all()


def test_confused_attributes_names_the_differences():
    cap = _cap("q", "A", {"object": {"color": "red", "shape": "circle", "material": "metal"},
                          "events": [{"motion": "left", "speed": "fast"}, {"motion": "spin"}], "order": True,
                          "sound": "ring"})
    assert confused_attributes(cap, A) == []
    assert confused_attributes(cap, B) == ["order", "sound"]
    assert confused_attributes(cap, C) == ["motion", "sound"]   # its red circle stays; the clip is silent
    wood = _video("W", [_obj(material="wood", events=[("left", "slow"), ("spin", "slow")])], sound="knock")
    assert confused_attributes(cap, wood) == ["sound", "speed"]
    noisy = _cap("m", "A", {"object": {"color": "blue"},
                            "noise": [{"op": "drop", "tag": "o.color", "attr": "color", "destroyed": True}]})
    assert confused_attributes(noisy, A) == ["color", "language_noise"]


def test_partial_label_by_overlap():
    full = {"object": {"color": "red", "shape": "circle"}, "events": [{"motion": "left"}]}
    assert partial_label(full, A.attributes) == 0
    assert partial_label({**full, "events": [{"motion": "grow"}]}, A.attributes) == 1
    assert partial_label({"object": {"color": "green"}, "events": [{"motion": "spin"}]}, A.attributes) == 1
    assert partial_label({"object": {"color": "green"}, "events": [{"motion": "grow"}]}, A.attributes) == 2
    # noun and verb both present but not bound together: partial (C's red circle stays)
    assert partial_label(full, C.attributes) == 1
