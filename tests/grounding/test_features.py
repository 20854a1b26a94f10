"""Clip-level features: decode once at the clip times, encode like retrieval, store, resume, skip."""
import math
import shutil

import numpy as np
import pytest
import torch

from mvkit.data import load
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord
from mvkit.features.decode import decode_clip
from mvkit.features.encoders import create_encoder
from mvkit.features.store import open_store
from mvkit.grounding.features import (
    ClipSampling,
    TooShortError,
    audio_windows,
    clip_features,
    extract_clip_features,
    main,
)


def test_sampling_arithmetic():
    s = ClipSampling(rate=2.0, frames_per_clip=2)
    assert s.n_clips(12.375) == 24 and s.n_clips(0.5) == 1
    assert s.frame_times(2).tolist() == [0.125, 0.375, 0.625, 0.875]
    with pytest.raises(TooShortError, match=r"video 'v1' is 0.3 s long, shorter than one feature step \(0.5 s at 2 clips/s\)"):
        s.n_clips(0.3, "v1")
    with pytest.raises(ValueError, match="rate > 0"):
        ClipSampling(rate=0)


def test_decode_at_times_picks_the_frame_on_screen(gworld):
    ds = load(gworld)
    path = ds.video_path(ds.videos[0])
    every = decode_clip(path, num_frames=round(ds.videos[0].duration * 8), audio=False).frames   # all frames
    times = np.array([0.0, 0.124, 0.126, 3.3, ds.videos[0].duration + 5])
    got = decode_clip(path, audio=False, times=times).frames
    want = [0, 0, 1, 26, len(every) - 1]
    assert np.array_equal(got, every[want])


def test_audio_windows_are_centred_and_padded():
    mel = np.arange(300, dtype=np.float32)[None].repeat(2, 0)          # 3 s at 100 columns/s
    wins = audio_windows(mel, 6, ClipSampling(rate=2.0, audio_window=1.0))
    assert all(w.shape == (2, 100) for w in wins)
    assert wins[2][0, 0] == 75 and wins[2][0, -1] == 174                 # clip 2 centred at 1.25 s
    assert wins[0][0, 0] == 0 and wins[0][0, :26].max() == 0            # before the start: the border repeats


def test_store_layout_matches_a_direct_computation(gworld, gstore):
    ds, store = load(gworld), open_store(gstore)
    prov = store.provenance
    assert prov["sampling"] == "clip-rate" and prov["clip_rate"] == 2.0 and prov["encoder"] == "mvkit-tiny"
    for v in ds.videos:
        n = math.floor(v.duration * 2 + 1e-6)
        assert store.frames(v.video_id).shape == (n, 128) and store.frames(v.video_id, "motion").shape == (n, 128)
        assert store.has(v.video_id, "audio") == v.has_audio
    v = next(v for v in ds.videos if v.has_audio)
    enc = create_encoder("mvkit-tiny", device="cpu")
    s = ClipSampling()
    n = s.n_clips(v.duration)
    clip = decode_clip(ds.video_path(v), times=s.frame_times(n))
    frames = enc.frame_transform(clip.frames)
    direct = enc.encode_batch(frames[None], [None])[0]["appearance"]      # per-frame image features
    assert np.allclose(store.frames(v.video_id)[3], direct[6:8].mean(0), atol=1e-5)
    again = clip_features(enc, frames, clip.log_mel, n, s)
    for stream in ("appearance", "motion", "audio"):
        assert np.allclose(store.frames(v.video_id, stream), again[stream], atol=1e-5)
    assert set(store.text_langs) == set(ds.languages)


def test_resume_redoes_only_the_missing_shard(tmp_path, gworld, gstore):
    ds = load(gworld)
    keep = {v.video_id for v in ds.videos[:4]}
    small = RetrievalDataset("small", gworld, ds.videos[:4], [c for c in ds.captions if c.video_id in keep])
    enc = create_encoder("mvkit-tiny", device="cpu")
    out = tmp_path / "store"
    extract_clip_features(small, enc, out, videos_per_shard=2, num_workers=0, progress=False)
    before = (out / "shards" / "00000" / "motion.npy").stat().st_mtime_ns
    shutil.rmtree(out / "shards" / "00001")                    # a killed run: the second shard missing
    (out / "index.json").unlink()
    with pytest.raises(Exception, match=r"extraction incomplete \(1 of 2 shards done\)"):
        open_store(out)
    store = extract_clip_features(small, enc, out, videos_per_shard=2, num_workers=0, progress=False)
    assert (out / "shards" / "00000" / "motion.npy").stat().st_mtime_ns == before   # finished shard kept
    ref = open_store(gstore)
    assert store.video_ids == [v.video_id for v in ds.videos[:4]]
    for vid in store.video_ids:
        assert np.allclose(store.frames(vid, "motion"), ref.frames(vid, "motion"), atol=1e-5)


def test_too_short_and_corrupt_videos_are_skipped_with_a_reason(tmp_path, gworld):
    ds = load(gworld)
    v0, v1 = ds.videos[0], ds.videos[1]
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    videos = [v0, VideoRecord("short", str(ds.video_path(v1)), "test", 0.3),
              VideoRecord("broken", str(tmp_path / "broken.mp4"), "test", 14.0)]
    caps = [CaptionRecord("q", v0.video_id, "en", "x", spans=((1.0, 2.0),))]
    small = RetrievalDataset("small", gworld, videos, caps)
    store = extract_clip_features(small, create_encoder("mvkit-tiny", device="cpu"), tmp_path / "s",
                                  num_workers=0, progress=False)
    assert store.video_ids == [v0.video_id]
    assert store.skipped["short"].startswith("too short: video 'short' is 0.3 s long, shorter than one feature step")
    assert store.skipped["broken"].startswith("truncated")


def test_model_says_a_video_is_too_short():
    from mvkit.grounding.models import create_grounding_model

    m = create_grounding_model("detr", video_dims={"appearance": 4}, text_dim=4, clip_rate=2.0)
    batch = {"feats": {"appearance": torch.zeros(1, 1, 4)}, "masks": {"appearance": torch.zeros(1, 1, dtype=torch.bool)},
             "text": torch.zeros(1, 4), "durations": torch.tensor([0.3]), "video_ids": ["tiny"]}
    with pytest.raises(TooShortError, match=r"cannot ground queries in videos \['tiny'\]: shorter than one feature step"):
        m.predict(batch)


def test_cli_finishes_a_store(tmp_path, gworld, gstore, capsys):
    out = tmp_path / "cli-store"
    shutil.copytree(gstore, out)
    (out / "index.json").unlink()
    assert main(["--data", str(gworld), "--out", str(out), "--workers", "0", "--no-text"]) == 0
    assert f"{len(load(gworld).videos)} videos" in capsys.readouterr().out
    assert open_store(out).provenance["clip_rate"] == 2.0
    with pytest.raises(Exception, match="provenance mismatch on 'clip_rate'"):
        main(["--data", str(gworld), "--out", str(out), "--workers", "0", "--rate", "1"])


def test_batched_audio_tower_matches_one_by_one():
    enc = create_encoder("mvkit-tiny", device="cpu")
    rng = np.random.default_rng(0)
    mels = [rng.normal(-6, 4, (64, 100)).astype(np.float32) for _ in range(5)] + [None]
    one = enc.encode_audio(mels, segments=1)
    many = enc.encode_audio(mels, segments=1, batch=True)
    assert many[-1] is None and all(np.allclose(a, b, atol=1e-5) for a, b in zip(one[:-1], many[:-1]))
