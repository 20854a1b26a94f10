import json
import pickle
import sys
import types
from pathlib import Path

import pytest

import mvkit.data
from mvkit.data.manifests import manifest_dir
from mvkit.data.pickles import PickleNotAllowedError
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def test_manifest_name_root_and_reader_kwargs():
    with pytest.warns(UserWarning, match=r"msrvtt \(9k\) .* split sizes differ from the manifest .*'train': \(8, 8500\)"):
        ds = mvkit.data.load("msrvtt", root=FIX / "msrvtt", val_size=2)
    assert ds.meta["variant"] == "9k" and ds.summary()["videos"] == {"train": 8, "val": 2, "test": 2}
    ds7 = mvkit.data.load("msrvtt", root=FIX / "msrvtt", variant="7k", val_size=2, check_counts=False)
    assert ds7.summary()["videos"]["train"] == 6 and ds7.meta["split_scheme"] == "7k"
    full = mvkit.data.load("msrvtt", root=FIX / "msrvtt", split_scheme="full", check_counts=False)
    assert full.meta["variant"] == "full" and full.summary()["videos"]["test"] == 4


def test_manifest_path_and_langs():
    ds = mvkit.data.load(str(manifest_dir() / "multi_msrvtt.json"), root=FIX / "multi_msrvtt",
                         langs=["de", "sw"], check_counts=False)
    assert ds.languages == ["de", "sw"] and ds.meta["manifest"] == "multi_msrvtt"


def test_every_reader_through_load(tmp_path):
    kw = {"check_counts": False}
    assert mvkit.data.load("vatex", root=FIX / "vatex", n_val=2, **kw).summary()["videos"]["train"] == 4
    assert mvkit.data.load("msrvtt_cn", root=FIX / "msrvtt_cn", **kw).meta["collection"] == "msrvttcn"
    assert mvkit.data.load("msvd", root=FIX / "msvd", **kw).summary()["videos"] == {"train": 3, "val": 1, "test": 2}
    assert len(mvkit.data.load("rudder", root=FIX / "rudder", val_size=1, **kw).partial_labels) == 3
    entry = {"id": "c0", **{f"caption_{l}": "t" for l in ("en", "de", "cz")}}
    for name in ("youcook_train_audio_multilingual.pkl", "youcook_val_audio_multilingual.pkl"):
        with open(tmp_path / name, "wb") as fh:
            pickle.dump([dict(entry, id=f"{name[8:12]}{i}") for i in range(3)], fh)
    with pytest.raises(PickleNotAllowedError):
        mvkit.data.load("multi_youcook2", root=tmp_path, val_size=1, **kw)
    ds = mvkit.data.load("multi_youcook2", root=tmp_path, val_size=1, allow_pickle=True, **kw)
    assert ds.languages == ["cs", "de", "en"]


def test_embedded_world_directory(tmp_path, monkeypatch):
    (tmp_path / "world.json").write_text(json.dumps({"name": "w"}))
    world = RetrievalDataset("w", tmp_path, [VideoRecord("v0", "videos/v0.mp4", "test")],
                             [CaptionRecord("c0", "v0", "hi", "एक लाल गेंद")])
    calls = []
    fake = types.ModuleType("mvkit.data.synth")
    fake.load_world = lambda d: calls.append(Path(d)) or world
    monkeypatch.setitem(sys.modules, "mvkit.data.synth", fake)
    assert mvkit.data.load(tmp_path) is world and calls == [tmp_path]
    ds = mvkit.data.load("embedded", root=tmp_path)   # the manifest route reaches the same reader
    assert ds is world and ds.meta["manifest"] == "embedded" and calls == [tmp_path, tmp_path]


def test_errors():
    with pytest.raises(FileNotFoundError, match=r"no manifest 'nope'; shipped: \['charades_sta', 'embedded', 'msrvtt'"):
        mvkit.data.load("nope", root=".")
    with pytest.raises(ValueError, match="msrvtt: pass root= pointing at the downloaded files"):
        mvkit.data.load("msrvtt")
    with pytest.raises(ValueError, match=r"unknown variant '5k'; choose from \['7k', '9k', 'full'\]"):
        mvkit.data.load("msrvtt", root=FIX / "msrvtt", variant="5k")
    with pytest.raises(FileNotFoundError, match="a directory without world.json"):
        mvkit.data.load(FIX / "msvd")


def test_real_generated_world_loads_through_the_same_api(tmp_path):
    from mvkit.data import synth

    synth.generate_world(tmp_path / "w", n_videos=12, seed=0)
    ds = mvkit.data.load(tmp_path / "w")
    assert isinstance(ds, RetrievalDataset) and sum(ds.summary()["videos"].values()) == 12
    assert {"train", "val", "test"} <= set(ds.splits) and "hi" in ds.languages
    with_partial = mvkit.data.load("embedded", root=tmp_path / "w", partial=True)
    assert with_partial.partial_labels and not ds.partial_labels
