import json

import numpy as np
import pytest

from mvkit.features.decode import decode_clip
from mvkit.features.extract import (
    extract_features,
    extract_text_features,
    plan_shards,
    resolve_shard,
)
from mvkit.features.store import IncompleteStore, ProvenanceMismatch, open_store

from .conftest import FakeEncoder

GOOD = [f"v{i:02d}" for i in range(10)]
BAD = {"broken": "truncated", "text": "unreadable", "gone": "missing"}


def store_bytes(path):
    """Every array and index of a store, for byte-for-byte comparison of two runs."""
    out = {}
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path)
        if p.is_file() and p.suffix in (".npy", ".json") and rel.parts[0] not in ("text", "report.json"):
            out[str(rel)] = p.read_bytes()
    return out


@pytest.fixture(scope="module")
def full_store(toy_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "store"
    store = extract_features(toy_world, FakeEncoder(), out, num_frames=4, batch_size=2,
                             num_workers=0, videos_per_shard=4, progress=False)
    return store


def test_features_equal_a_direct_decode_and_encode(full_store, toy_world):
    assert sorted(full_store.video_ids) == GOOD
    enc = FakeEncoder()
    for vid in ["v00", "v02", "v07"]:
        clip = decode_clip(toy_world.root / "videos" / f"{vid}.mp4", num_frames=4)
        ref = enc.encode_batch(enc.frame_transform(clip.frames)[None], [clip.log_mel])[0]
        for s in ("appearance", "motion"):
            np.testing.assert_allclose(full_store.frames(vid, s), ref[s].astype(np.float32))
        assert full_store.frames(vid, "appearance").shape == (4, 6)
        assert full_store.frames(vid, "motion").shape == (3, 3)
        assert full_store.has(vid, "audio") == (clip.log_mel is not None)
    # clips 2, 5, 8 were written without an audio track: no audio stream, never zeros
    assert [v for v in GOOD if not full_store.has(v, "audio")] == ["v02", "v05", "v08"]
    with pytest.raises(KeyError, match="no 'audio' stream"):
        full_store.frames("v02", "audio")


def test_corrupt_and_missing_videos_are_reported_not_zeros(full_store):
    assert set(full_store.skipped) == set(BAD)
    for vid, reason in BAD.items():
        assert full_store.skipped[vid].startswith(reason)
        assert not full_store.has(vid, "appearance")
        with pytest.raises(KeyError, match=f"skipped: {reason}"):
            full_store.frames(vid)
    report = json.loads((full_store.path / "report.json").read_text())
    assert report["n_planned"] == 13 and report["n_extracted"] == 10 and report["n_skipped"] == 3
    assert set(report["skipped"]) == set(BAD) and "broken.mp4" in report["skipped"]["broken"]
    for s in full_store.streams:
        for v in full_store.video_ids:
            if full_store.has(v, s):
                assert np.isfinite(full_store.frames(v, s)).all()


def test_stacked_pads_and_masks(full_store):
    ids = ["v01", "v02", "v09"]
    arr, mask = full_store.stacked(ids, "audio")
    lens = [len(full_store.frames("v01", "audio")), 0, len(full_store.frames("v09", "audio"))]
    assert arr.shape == (3, max(lens), 4) and mask.sum(1).tolist() == lens
    np.testing.assert_array_equal(arr[0, :lens[0]], full_store.frames("v01", "audio"))
    assert (arr[~mask] == 0).all()
    app, m = full_store.stacked(ids)
    assert app.shape == (3, 4, 6) and m.all()
    with pytest.raises(KeyError, match="broken"):
        full_store.stacked(["v01", "broken"])


def test_kill_then_resume_equals_uninterrupted_run(full_store, toy_world, tmp_path):
    out = tmp_path / "store"
    # 13 videos in shards of 4 -> 4 shards; batches of 2: die during the 4th encode call
    with pytest.raises(RuntimeError, match="simulated kill"):
        extract_features(toy_world, FakeEncoder(fail_after=3), out, num_frames=4, batch_size=2,
                         num_workers=0, videos_per_shard=4, progress=False)
    done = sorted(p.name for p in (out / "shards").iterdir())
    assert done == ["00000"]                      # one finished shard, no half shard, no temp dir
    with pytest.raises(IncompleteStore, match="1 of 4 shards"):
        open_store(out)
    enc = FakeEncoder()
    store = extract_features(toy_world, enc, out, num_frames=4, batch_size=2,
                             num_workers=0, videos_per_shard=4, progress=False)
    # shard 0 (4 videos, 2 batches) was not redone: 13 - 4 = 9 videos, 7 decodable -> 4 batches
    assert enc.calls == 4
    assert store_bytes(out) == store_bytes(full_store.path)
    assert store.skipped == full_store.skipped


def test_workers_and_shards_give_the_same_store(full_store, toy_world, tmp_path):
    out = tmp_path / "split"
    assert extract_features(toy_world, FakeEncoder(), out, num_frames=4, batch_size=2, shard="1/2",
                            num_workers=0, videos_per_shard=4, progress=False) is None
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["00001", "00003"]
    store = extract_features(toy_world, FakeEncoder(), out, num_frames=4, batch_size=2, shard=(0, 2),
                             num_workers=2, videos_per_shard=4, progress=False)
    assert store_bytes(out) == store_bytes(full_store.path)
    assert store.skipped == full_store.skipped


def test_provenance_mismatch_raises_naming_the_key(full_store, toy_world):
    with pytest.raises(ProvenanceMismatch, match="'encoder'"):
        open_store(full_store.path, expect={"encoder": "ViT-B-32"})
    with pytest.raises(ProvenanceMismatch, match="'num_frames'"):
        open_store(full_store.path, expect={"encoder": "fake-pixels", "num_frames": 8})
    assert open_store(full_store.path, expect={"encoder": "fake-pixels", "num_frames": 4}).dims == FakeEncoder.streams
    # resuming into a store of another encoder or sampling is refused, nothing written
    before = store_bytes(full_store.path)
    with pytest.raises(ProvenanceMismatch, match="'encoder'"):
        extract_features(toy_world, FakeEncoder(name="other"), full_store.path, num_frames=4,
                         num_workers=0, videos_per_shard=4, progress=False)
    with pytest.raises(ProvenanceMismatch, match="'num_frames'"):
        extract_features(toy_world, FakeEncoder(), full_store.path, num_frames=8,
                         num_workers=0, videos_per_shard=4, progress=False)
    assert store_bytes(full_store.path) == before


def test_nan_features_raise(toy_world, tmp_path):
    with pytest.raises(FloatingPointError, match="NaN"):
        extract_features(toy_world, FakeEncoder(nan=True), tmp_path / "s", num_frames=4,
                         num_workers=0, videos_per_shard=4, progress=False)
    assert not list((tmp_path / "s" / "shards").iterdir())


def test_text_features_per_language(full_store, toy_world):
    enc = FakeEncoder()
    assert extract_text_features(toy_world, enc, full_store, progress=False) == ["en", "hi"]
    ids, feats = full_store.text_features("hi")
    caps = [c for c in toy_world.captions if c.lang == "hi"]
    assert ids == [c.caption_id for c in caps]
    np.testing.assert_array_equal(feats, enc.encode_text([c.text for c in caps], "hi").numpy())
    assert full_store.text_langs == ["en", "hi"]
    with pytest.raises(KeyError, match="'de'"):
        full_store.text_features("de")
    with pytest.raises(ProvenanceMismatch, match="'encoder'"):
        extract_text_features(toy_world, FakeEncoder(name="other"), full_store, progress=False)


def test_plan_and_shard_parsing(monkeypatch):
    assert plan_shards(list("abcde"), 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert resolve_shard("1/4") == (1, 4)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert resolve_shard(None) == (2, 3)
    for bad in ("4/4", "x", "1/0"):
        with pytest.raises(ValueError):
            resolve_shard(bad)


KILL_SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
from conftest import FakeEncoder, make_dataset
from mvkit.features.extract import extract_features

class Slow(FakeEncoder):
    def encode_batch(self, frames, mels):
        time.sleep(0.15)
        return super().encode_batch(frames, mels)

ds = make_dataset({root!r}, {names!r})
extract_features(ds, Slow(), {out!r}, num_frames=4, batch_size=1, num_workers=1,
                 videos_per_shard=4, progress=False)
"""


def test_sigkill_mid_extraction_then_resume(full_store, toy_world, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    out = tmp_path / "killed"
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), root=str(toy_world.root),
                                names=[v.video_id for v in toy_world.videos], out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "shards" / "00000" / "DONE").exists():
        time.sleep(0.05)
    time.sleep(0.2)                                # now somewhere inside shard 1
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # its decoding worker dies with it (no orphan left blocked on a pipe)
    def orphans():
        out_s = str(out)
        found = []
        for d in Path("/proc").iterdir():
            try:
                if d.name.isdigit() and out_s in (d / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(d.name))
            except OSError:
                pass
        return found
    gone_by = time.time() + 10
    while time.time() < gone_by and orphans():
        time.sleep(0.1)
    assert orphans() == []
    finished = sorted(p.name for p in (out / "shards").iterdir() if not p.name.startswith("."))
    assert "00000" in finished and "00003" not in finished
    assert all((out / "shards" / n / "DONE").exists() for n in finished)
    extract_features(toy_world, FakeEncoder(), out, num_frames=4, batch_size=2,
                     num_workers=0, videos_per_shard=4, progress=False)
    assert not [p for p in (out / "shards").iterdir() if p.name.startswith(".")]   # stale temp cleaned
    assert store_bytes(out) == store_bytes(full_store.path)
    assert os.path.exists(out / "report.json")


def test_float16_store_reads_back_as_float32(full_store, toy_world, tmp_path):
    store = extract_features(toy_world, FakeEncoder(), tmp_path / "h", num_frames=4, num_workers=0,
                             videos_per_shard=8, dtype="float16", progress=False)
    assert store.provenance["dtype"] == "float16"
    assert np.load(store.path / "shards" / "00000" / "appearance.npy", mmap_mode="r").dtype == np.float16
    for vid in ("v00", "v09"):
        a = store.frames(vid, "appearance")
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, full_store.frames(vid, "appearance"), rtol=1e-3, atol=1e-3)
    with pytest.raises(KeyError, match="no stream 'depth'"):
        store.has("v00", "depth")


def test_disk_full_mid_extraction_names_the_file_and_resumes_to_the_same_bytes(full_store, toy_world, tmp_path,
                                                                                 monkeypatch):
    import errno

    real_save, calls = np.save, []

    def full_disk(fh, arr):   # the 4th array written (shard 1's first stream; 3 streams a shard) fails
        calls.append(1)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(fh, arr)

    out = tmp_path / "store"
    monkeypatch.setattr(np, "save", full_disk)
    with pytest.raises(OSError, match="No space left on device") as err:
        extract_features(toy_world, FakeEncoder(), out, num_frames=4, batch_size=2,
                         num_workers=0, videos_per_shard=4, progress=False)
    assert err.value.errno == errno.ENOSPC and err.value.filename.endswith("appearance.npy")
    assert "/shards/.tmp-00001-" in err.value.filename
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["00000"]   # no half shard left behind
    monkeypatch.setattr(np, "save", real_save)
    extract_features(toy_world, FakeEncoder(), out, num_frames=4, batch_size=2,
                     num_workers=0, videos_per_shard=4, progress=False)
    assert store_bytes(out) == store_bytes(full_store.path)


def test_store_folders_get_the_usual_permissions(full_store):
    import os
    import stat
    mask = os.umask(0)
    os.umask(mask)
    for d in [full_store.path / "shards" / "00000", full_store.path / "shards" / "00002"]:
        assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~mask      # not mkdtemp's 0700
    assert stat.S_IMODE((full_store.path / "shards" / "00000" / "appearance.npy").stat().st_mode) == 0o666 & ~mask


def test_a_record_that_promises_sound_without_an_audio_stream_is_reported(toy_world, tmp_path):
    import dataclasses

    from mvkit.data.records import RetrievalDataset
    from mvkit.io import read_json
    keep = ["v00", "v02", "v05", "v06"]                       # v02 and v05 were written without audio
    videos = [dataclasses.replace(v, has_audio=v.video_id != "v06") for v in toy_world.videos if v.video_id in keep]
    ds = RetrievalDataset("toy", toy_world.root, videos, [c for c in toy_world.captions if c.video_id in keep])
    store = extract_features(ds, FakeEncoder(), tmp_path / "s", num_frames=4, batch_size=2, num_workers=0,
                             videos_per_shard=2, progress=False)
    assert store.audio_missing == ["v02", "v05"]
    report = read_json(tmp_path / "s" / "report.json")
    assert report["n_audio_missing"] == 2 and sorted(report["audio_missing"]) == ["v02", "v05"]
    assert "no audio stream" in report["audio_missing"]["v02"]
