"""CCR FeatureData folders into the feature store: the release layout, provenance, and every fault named."""
from __future__ import annotations

import numpy as np
import pytest

from mvkit.cli import main as mvkit_main
from mvkit.features.imports import FeatureData, import_featuredata
from mvkit.features.store import open_store

VIDEOS = {"video0": 3, "video1": 2, "video7": 4}


def write_featuredata(folder, dim=5, seed=0, videos=None):
    """A FeatureData folder as the CCR repositories ship it (BigFile layout + video2frames dict literal)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    frames = {v: [f"{v}_{k}" for k in range(n)] for v, n in (videos or VIDEOS).items()}
    ids = [f for fs in frames.values() for f in fs]
    rng.shuffle(ids)                                   # rows are not in video order in the release either
    feats = rng.standard_normal((len(ids), dim)).astype(np.float32)
    feats.tofile(folder / "feature.bin")
    (folder / "id.txt").write_text(" ".join(ids))
    (folder / "shape.txt").write_text(f"{len(ids)} {dim}")
    (folder / "video2frames.txt").write_text(repr(frames))
    row = {f: i for i, f in enumerate(ids)}
    return {v: feats[[row[f] for f in fs]] for v, fs in frames.items()}


def test_featuredata_imports_as_named_streams_with_provenance(tmp_path):
    i3d = write_featuredata(tmp_path / "FeatureData" / "i3d_kinetics")
    rn = write_featuredata(tmp_path / "FeatureData" / "resnet152", dim=3, seed=1)
    store = import_featuredata({"i3d": tmp_path / "FeatureData" / "i3d_kinetics",
                                "resnet152": tmp_path / "FeatureData" / "resnet152"}, tmp_path / "store",
                               video_ids=["video0", "video1", "video7", "video9"], videos_per_shard=2, progress=False)
    assert store.dims == {"i3d": 5, "resnet152": 3}
    for v in VIDEOS:   # frame order is video2frames.txt's, rows found through id.txt
        np.testing.assert_array_equal(store.frames(v, "i3d"), i3d[v])
        np.testing.assert_array_equal(store.frames(v, "resnet152"), rn[v])
    assert store.skipped == {"video9": "missing: in none of the FeatureData folders (i3d, resnet152)"}
    src = store.provenance["encoder_provenance"]["imported"]["i3d"]
    assert src["format"] == "ccr-featuredata" and src["shape"] == [9, 5]
    assert set(src["files"]) == {"feature.bin", "id.txt", "shape.txt", "video2frames.txt"}
    assert store.provenance["encoder"] == "imported:i3d+resnet152"
    again = import_featuredata({"i3d": tmp_path / "FeatureData" / "i3d_kinetics",
                                "resnet152": tmp_path / "FeatureData" / "resnet152"}, tmp_path / "store",
                               video_ids=["video0", "video1", "video7", "video9"], videos_per_shard=2, progress=False)
    assert again.video_ids == store.video_ids        # a finished import is reused as it is


def test_the_command_line(tmp_path, capsys):
    write_featuredata(tmp_path / "i3d")
    (tmp_path / "ids.txt").write_text("video7\nvideo0\n")
    assert mvkit_main(["import-features", "--featuredata", f"i3d={tmp_path / 'i3d'}", "--videos",
                       str(tmp_path / "ids.txt"), "--out", str(tmp_path / "s")]) == 0
    assert open_store(tmp_path / "s").video_ids == ["video7", "video0"]
    assert "2 videos, streams {'i3d': 5}" in capsys.readouterr().out
    assert mvkit_main(["import-features", "--c2kd", str(tmp_path / "nope.pkl"), "--out", str(tmp_path / "t")]) == 1
    assert "nope.pkl: file not found" in capsys.readouterr().err


@pytest.mark.parametrize("breakage,msg", [
    (lambda d: (d / "shape.txt").write_text("9"), r"shape.txt: expected 'N D' \(two integers\), got '9'"),
    (lambda d: (d / "shape.txt").write_text("8 5"), r"id.txt: 9 ids, but shape.txt says 8 rows"),
    (lambda d: (d / "feature.bin").write_bytes((d / "feature.bin").read_bytes()[:-4]),
     r"feature.bin: 176 bytes, expected 9 x 5 float32 = 180 \(shape.txt\); truncated"),
    (lambda d: (d / "video2frames.txt").write_text("{'video0': ['video0_0',"),
     r"video2frames.txt:1: not a Python dict literal"),
    (lambda d: (d / "video2frames.txt").write_text("__import__('os').mkdir('ran')"),
     r"video2frames.txt: not a Python dict literal"),
    (lambda d: (d / "video2frames.txt").write_text("{'video0': ['video0_0', 'video0_99']}"),
     r"video2frames.txt: frame ids not in id.txt for 1 video\(s\) \['video0'\], e.g. 'video0': \['video0_99'\]"),
    (lambda d: (d / "id.txt").unlink(), r"id.txt: not found; a FeatureData folder holds feature.bin, id.txt"),
])
def test_faults_name_the_file(tmp_path, monkeypatch, breakage, msg):
    d = tmp_path / "fd"
    write_featuredata(d)
    breakage(d)
    monkeypatch.chdir(tmp_path)
    with pytest.raises((ValueError, FileNotFoundError), match=msg):
        FeatureData(d)
    assert not (tmp_path / "ran").exists()      # video2frames.txt is parsed, never executed


def test_a_head_trains_on_an_imported_stream(tmp_path):
    """Published features + cached text features: training needs no video at all."""
    from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord
    from mvkit.features.store import write_text_features
    from mvkit.train import TrainConfig, fit

    splits = {"video0": "train", "video1": "train", "video7": "test", "video8": "val"}
    write_featuredata(tmp_path / "i3d", videos=dict.fromkeys(splits, 2))
    store = import_featuredata({"i3d": tmp_path / "i3d"}, tmp_path / "store", progress=False)
    ds = RetrievalDataset("fd", tmp_path, [VideoRecord(v, None, s) for v, s in splits.items()],
                          [CaptionRecord(f"{v}#en#0", v, "en", f"caption of {v}") for v in splits])
    write_text_features(store.path, "en", [c.caption_id for c in ds.captions],
                        np.eye(4, 5, dtype=np.float32), {"encoder": "test"})
    rec = fit(TrainConfig(epochs=1, batch_size=2, langs=["en"], bootstrap=0,
                          model_overrides={"embed_dim": 4, "spaces": {"main": {"stream": "i3d"}}}), dataset=ds, store=store)
    assert rec.data["streams"] == ["i3d"] and rec.data["video_dims"] == {"i3d": 5}
    assert rec.data["test"]["videos"] == 1 and rec.data["store_provenance"]["encoder"] == "imported:i3d"
