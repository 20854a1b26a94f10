import hashlib
import re
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest

from mvkit.data.synth import ensure_world, generate_world, load_world, world_is_complete
from mvkit.data.synth.cli import main as synth_main
from mvkit.data.synth.world import HUMAN_SHARE, WORLD_LANGS
from mvkit.io import read_json


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes_other_seed_differs(tmp_path, world_dir):
    again = generate_world(tmp_path / "again", 40, seed=3, workers=2)   # pool vs serial: same bytes
    for name in ("videos.jsonl", "captions.jsonl", "partial.jsonl"):
        assert _digest(again / name) == _digest(world_dir / name), name
    for mp4 in sorted((world_dir / "videos").glob("*.mp4"))[:10]:
        assert _digest(again / "videos" / mp4.name) == _digest(mp4), mp4.name
    other = generate_world(tmp_path / "other", 12, seed=4, workers=1)
    assert _digest(other / "captions.jsonl") != _digest(world_dir / "captions.jsonl")


def test_layout_and_world_json(world_dir):
    meta = read_json(world_dir / "world.json")
    assert meta["n_videos"] == 40 and meta["seed"] == 3 and meta["languages"] == list(WORLD_LANGS)
    assert meta["splits"] == {"train": 28, "val": 4, "test": 8}
    assert set(meta) >= {"name", "version", "config"}
    assert world_is_complete(world_dir)
    assert len(list((world_dir / "videos").glob("*.mp4"))) == 40


def test_mp4s_decode_with_video_and_audio_streams(world_dir):
    ds = load_world(world_dir)
    kinds = Counter(v.has_audio for v in ds.videos)
    assert kinds[True] > 0 and kinds[False] > 0
    for v in ds.videos[:12]:
        with av.open(str(ds.video_path(v))) as c:
            assert c.streams.video[0].codec_context.name == "h264"
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(frames) == 24 and frames[0].shape == (64, 64, 3)
        with av.open(str(ds.video_path(v))) as c:
            if v.has_audio:
                a = c.streams.audio[0]
                assert a.codec_context.name == "aac" and a.rate == 16000 and a.channels == 1
                samples = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
                assert samples.shape[1] >= 48000 and np.abs(samples).max() > 0.1
            else:
                assert len(c.streams.audio) == 0


def test_splits_disjoint_and_sized(world_dir):
    ds = load_world(world_dir)
    assert Counter(v.split for v in ds.videos) == {"train": 28, "val": 4, "test": 8}


def test_every_eval_video_has_a_human_caption_in_every_language(world_dir):
    ds = load_world(world_dir)
    have = {(c.video_id, c.lang) for c in ds.captions if c.kind == "human"}
    for v in ds.videos:
        if v.split in ("val", "test"):
            assert all((v.video_id, lang) in have for lang in WORLD_LANGS), v.video_id


def test_train_human_captions_follow_the_shares(world_dir):
    ds = load_world(world_dir)
    train = [v.video_id for v in ds.videos if v.split == "train"]
    per_lang = Counter(c.lang for c in ds.captions if c.kind == "human" and c.video_id in set(train)
                       and c.caption_id.endswith("#0"))
    for lang in WORLD_LANGS:
        assert per_lang[lang] == round(HUMAN_SHARE[lang] * len(train)), lang
    en = [c for c in ds.captions if c.lang == "en" and c.kind == "human"]
    assert len(en) == 3 * len(ds.videos)


def test_translations_link_to_their_sources(world_dir):
    ds = load_world(world_dir)
    by_id = {c.caption_id: c for c in ds.captions}
    mt = [c for c in ds.captions if c.kind == "machine-translated" and not c.is_translate_test]
    bt = [c for c in ds.captions if c.kind == "back-translated"]
    n_train = sum(v.split == "train" for v in ds.videos)
    assert len(mt) == len(bt) == n_train * (len(WORLD_LANGS) - 1)
    for c in mt:
        src = by_id[c.source_id]
        assert src.lang == "en" and src.kind == "human" and src.video_id == c.video_id
        assert "noise" in c.attributes
    for c in bt:
        src = by_id[c.source_id]
        assert c.lang == "en" and src.kind == "machine-translated"
        assert c.attributes["noise"] == src.attributes["noise"]


def test_translate_test_captions_translate_every_eval_caption_into_english(world_dir):
    """One machine translation into English per val/test human caption outside English, on
    eval clips only; its source is that caption, its noise is recorded, and a leaked word stays
    in the source language (its script)."""
    ds = load_world(world_dir)
    by_id = {c.caption_id: c for c in ds.captions}
    split = {v.video_id: v.split for v in ds.videos}
    tt = [c for c in ds.captions if c.is_translate_test]
    sources = [c for c in ds.captions if c.kind == "human" and c.lang != "en" and split[c.video_id] != "train"
               and not c.caption_id.startswith("rudder:")]
    assert sorted(by_id[c.source_id].caption_id for c in tt) == sorted(c.caption_id for c in sources)
    for c in tt:
        src = by_id[c.source_id]
        assert c.lang == "en" and c.video_id == src.video_id and c.caption_id == f"{c.video_id}#{src.lang}2en#0"
        assert "noise" in c.attributes and c.attributes["object"] == src.attributes["object"]
    leaked = [c for c in tt if by_id[c.source_id].lang in ("hi", "ru", "ta")
              and any(n["op"] == "leak" for n in c.attributes["noise"])]
    assert leaked and all(re.search(SCRIPTS[by_id[c.source_id].lang], c.text) for c in leaked)


def test_translate_to_english_without_noise_is_the_plain_english_realisation():
    import numpy as np

    from mvkit.data.synth import captions as cap

    m = {"object": {"color": "red", "shape": "circle"}, "events": [{"motion": "left", "speed": "fast"}]}
    text, record = cap.translate_to_english("de", m, np.random.default_rng(0), 0.0)
    assert record == [] and text == cap.realise("en", m) == "A red circle moves quickly to the left."
    noisy, rec = cap.translate_to_english("de", m, np.random.default_rng(0), 1.0)
    assert rec and noisy != text


SCRIPTS = {
    "hi": r"[\u0900-\u097F]", "mr": r"[\u0900-\u097F]", "ta": r"[\u0B80-\u0BFF]", "te": r"[\u0C00-\u0C7F]",
    "kn": r"[\u0C80-\u0CFF]", "ml": r"[\u0D00-\u0D7F]", "ru": r"[\u0400-\u04FF]", "zh": r"[\u4E00-\u9FFF]",
    "ja": r"[\u3040-\u30FF]",
}


def test_human_captions_are_written_in_their_own_script(world_dir):
    ds = load_world(world_dir)
    for c in ds.captions:
        if c.kind != "human":
            continue
        if c.lang in SCRIPTS:
            assert re.search(SCRIPTS[c.lang], c.text), (c.lang, c.text)
        elif c.lang == "en":
            assert c.text.isascii(), c.text


def test_partial_probes_are_excluded_by_default_and_labelled_by_overlap(world_dir):
    plain = load_world(world_dir)
    assert not any(c.caption_id.startswith("rudder:") for c in plain.captions)
    assert plain.partial_labels == []
    full = load_world(world_dir, partial=True)
    caps = {c.caption_id: c for c in full.captions}
    vids = {v.video_id: v for v in full.videos}
    assert len(full.partial_labels) == 40 * 8
    labels = Counter()
    for p in full.partial_labels:
        c, v = caps[p.caption_id], vids[p.video_id]
        assert c.kind == "human" and c.attributes["partial_for"] == v.video_id == c.video_id
        kind = p.caption_id.rsplit("#", 1)[1]
        labels[kind, p.label] += 1
        if kind == "full":
            assert p.label == 0
        if kind == "neither":
            assert p.label == 2
        if kind in ("object", "action"):
            assert p.label == 1
    assert {k for k, _ in labels} == {"full", "object", "action", "neither"}


def test_twins_look_alike_and_sound_different():
    from mvkit.data.synth.world import _sample_scenes
    scenes = _sample_scenes(300, 0, 3.0, p_twin=0.2)
    twins = [(i, s) for i, s in enumerate(scenes) if s["twin_of"]]
    assert len(twins) > 10
    for i, s in twins:
        src = scenes[int(s["twin_of"][1:])]
        assert src["sound"] != s["sound"] and "none" not in (src["sound"], s["sound"])
        strip = lambda sc: [{k: v for k, v in o.items() if k != "material"} for o in sc["objects"]]
        assert strip(src) == strip(s)


def test_ensure_world_generates_once_and_reuses(tmp_path, monkeypatch):
    p = ensure_world(12, seed=1, root=tmp_path, workers=1)
    assert world_is_complete(p) and p.parent == tmp_path
    stamp = (p / "captions.jsonl").stat().st_mtime_ns
    assert ensure_world(12, seed=1, root=tmp_path, workers=1) == p
    assert ensure_world(12, seed=1, root=tmp_path, workers=2) == p          # how, not what: same world
    assert (p / "captions.jsonl").stat().st_mtime_ns == stamp
    assert ensure_world(12, seed=1, root=tmp_path, workers=1, mt_noise=0.5) != p   # other content
    (p / ".complete").unlink()              # a crashed run: regenerated, not trusted
    assert ensure_world(12, seed=1, root=tmp_path, workers=1) == p and world_is_complete(p)
    assert not [d for d in tmp_path.iterdir() if d.name.startswith(".")]


def test_ensure_world_smoke_size_and_home(tmp_path, monkeypatch):
    import mvkit.data.synth.world as w
    monkeypatch.setenv("MVKIT_SMOKE", "1")
    monkeypatch.setenv("MVKIT_HOME", str(tmp_path))
    monkeypatch.setattr(w, "SMOKE_VIDEOS", 11)
    p = ensure_world(workers=1)
    assert p.parent == tmp_path / "worlds" and read_json(p / "world.json")["n_videos"] == 11


def test_cli_writes_a_world_and_rejects_bad_input(tmp_path, capsys):
    assert synth_main(["--out", str(tmp_path / "c"), "--videos", "10", "--seed", "2", "--workers", "1",
                       "--languages", "en,hi", "--human-share", "hi=1.0"]) == 0
    ds = load_world(tmp_path / "c")
    assert ds.languages == ["en", "hi"]
    assert sum(c.lang == "hi" and c.kind == "human" for c in ds.captions) == 10
    with pytest.raises(SystemExit):
        synth_main(["--out", str(tmp_path / "d"), "--videos", "10", "--languages", "en,xx"])
    assert "unknown ['xx']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        synth_main(["--out", str(tmp_path / "d"), "--videos", "10", "--human-share", "hi=2"])
    assert "human shares must be in [0, 1]" in capsys.readouterr().err


def test_regenerating_smaller_removes_stale_clips(tmp_path):
    generate_world(tmp_path / "s", 12, seed=0, workers=1)
    generate_world(tmp_path / "s", 10, seed=0, workers=1)
    assert sorted(p.stem for p in (tmp_path / "s" / "videos").glob("*.mp4")) == [f"v{i:05d}" for i in range(10)]


def test_load_world_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="world.json"):
        load_world(tmp_path)


def test_bad_world_files_name_the_right_file_and_ids(tmp_path):
    import json
    w = tmp_path / "w"
    w.mkdir()
    (w / "world.json").write_text(json.dumps({"name": "w"}))
    (w / ".complete").write_text("")
    video = {"video_id": "v0", "path": "videos/v0.mp4", "split": "test"}
    caption = {"caption_id": "c0", "video_id": "v0", "lang": "en", "text": "a red ball"}

    def write(videos, captions):
        (w / "videos.jsonl").write_text("".join(json.dumps(v) + "\n" for v in videos))
        (w / "captions.jsonl").write_text("".join(json.dumps(c) + "\n" for c in captions))

    write([video, {**video, "split": "train"}], [caption])
    with pytest.raises(ValueError, match=r"videos.jsonl:2: duplicate video id 'v0' \(first at line 1\)"):
        load_world(w)
    write([video], [caption, {**caption, "caption_id": "c7", "video_id": "v9"}])
    with pytest.raises(ValueError, match=r"captions.jsonl: captions for unknown videos: \['v9'\] "
                                         r"\(caption -> video: \['c7 -> v9'\]\)"):
        load_world(w)
    write([video], [caption, {**caption, "caption_id": "c8", "lang": "english"}, {**caption, "caption_id": "c9",
                                                                                "lang": "eng"}])
    with pytest.raises(ValueError, match=r"captions.jsonl: non-canonical language codes \['eng', 'english'\] in "
                                         r"captions \['c8', 'c9'\]"):
        load_world(w)


def test_retrieval_captions_carry_no_spans_field(world_dir):
    # spans (grounding) are written only when set: the retrieval world's bytes stay as they were
    assert '"spans"' not in (world_dir / "captions.jsonl").read_text()
    assert all(c.spans is None for c in load_world(world_dir).captions)
