"""The embedded grounding world: timelines, unambiguous queries, 16 languages, determinism."""
import hashlib
from collections import Counter
from itertools import pairwise

import av
import numpy as np
import pytest

from mvkit.data import load
from mvkit.data.synth.world import WORLD_LANGS
from mvkit.grounding.queries import describes, sample_mention, targets
from mvkit.grounding.scene import EVENT_LEN, GAP_LEN, sample_untrimmed
from mvkit.grounding.world import generate_grounding_world, main
from mvkit.io import read_json


def _digest(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_same_seed_same_bytes(tmp_path, gworld, gworld_spec):
    n, options = gworld_spec
    again = generate_grounding_world(tmp_path / "again", n, seed=5, workers=2, **options)   # pool vs serial
    for name in ("videos.jsonl", "captions.jsonl"):
        assert _digest(again / name) == _digest(gworld / name), name
    for mp4 in sorted((gworld / "videos").glob("*.mp4"))[:4]:
        assert _digest(again / "videos" / mp4.name) == _digest(mp4)
    other = generate_grounding_world(tmp_path / "other", n, seed=6, workers=1, **options)
    assert _digest(other / "captions.jsonl") != _digest(gworld / "captions.jsonl")


def test_timelines_have_events_and_idle_stretches():
    for i in range(200):
        sc = sample_untrimmed(np.random.default_rng([7, i]))
        d = sc["duration"]
        assert 12.0 <= d <= 20.0 and round(d * 8) == d * 8            # a whole number of frames
        main_ev = sc["objects"][0]["events"]
        assert 2 <= len(main_ev) <= 4
        for a, b in pairwise(main_ev):
            assert b["start"] - a["end"] >= GAP_LEN[0] - 1e-3          # idle between events
        for e in main_ev:
            assert e["end"] - e["start"] >= EVENT_LEN[0] - 1e-3 and 0 <= e["start"] and e["end"] <= d
        motions = [e["motion"] for e in main_ev]
        repeated = len(set(motions)) < len(motions)
        assert not repeated or (main_ev[0]["motion"], main_ev[0]["speed"]) == (main_ev[-1]["motion"], main_ev[-1]["speed"])


def test_every_human_query_picks_exactly_its_moments():
    rng = np.random.default_rng(0)
    n_multi = 0
    for i in range(150):
        sc = sample_untrimmed(np.random.default_rng([8, i]))
        for tg in targets(sc, rng):
            m = sample_mention(rng, sc, tg)
            assert describes(m, sc) == [tuple(s) for s in tg["spans"]]
            n_multi += len(tg["spans"]) > 1
    assert n_multi > 0        # repeated events give queries with several windows


def test_records_spans_languages_and_kinds(gworld, gworld_spec):
    ds = load(gworld)
    meta = read_json(gworld / "world.json")
    assert meta["kind"] == "grounding" and meta["n_videos"] == gworld_spec[0]
    assert meta["languages"] == list(gworld_spec[1]["languages"])
    dur = {v.video_id: v.duration for v in ds.videos}
    assert all(c.spans and all(0 <= s < e <= dur[c.video_id] for s, e in c.spans) for c in ds.captions)
    kinds = Counter(c.kind for c in ds.captions)
    assert kinds["human"] and kinds["machine-translated"] == kinds["back-translated"] > 0
    test_videos = {v.video_id for v in ds.videos if v.split == "test"}
    test_targets = {c.attributes["target"] for c in ds.captions if c.video_id in test_videos}
    have = {(c.attributes["target"], c.lang) for c in ds.captions if c.kind == "human"}
    assert all((t, lang) in have for t in test_targets for lang in meta["languages"])   # every language, every moment
    mt = next(c for c in ds.captions if c.kind == "machine-translated")
    src = next(c for c in ds.captions if c.caption_id == mt.source_id)
    assert mt.spans == src.spans and mt.attributes["target"] == src.attributes["target"]
    v = ds.videos[0]
    assert v.events and v.events[0][0].split(":")[0] in ("main", "companion")


def test_clip_duration_matches_the_record(gworld):
    ds = load(gworld)
    v = ds.videos[0]
    with av.open(str(ds.video_path(v))) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert n == round(v.duration * 8)


def test_cli_writes_all_16_languages_and_rejects_bad_options(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "w"), "--videos", "10", "--workers", "1", "--min-duration", "9",
                 "--max-duration", "10"]) == 0
    assert "grounding world" in capsys.readouterr().out
    ds = load(tmp_path / "w")
    assert ds.languages == sorted(WORLD_LANGS) and len(WORLD_LANGS) == 16
    for lang in WORLD_LANGS:   # val/test moments have a human query in every language
        assert any(c.lang == lang and c.kind == "human" and c.spans for c in ds.captions), lang
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x"), "--videos", "10", "--min-duration", "4"])
    assert "durations (4.0, 20.0) must satisfy 8 <= low <= high" in capsys.readouterr().err
