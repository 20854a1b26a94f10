import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from mvkit.data.pickles import PickleNotAllowedError
from mvkit.data.readers.rudder import read_rudder

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "rudder"


def test_json_layout_languages_partial_labels():
    ds = read_rudder(ROOT, val_size=1)
    assert ds.summary()["videos"] == {"train": 3, "val": 1, "test": 2}
    assert ds.languages == ["en", "hi", "kn", "ml", "mr", "ta", "te"]
    ta = next(c for c in ds.captions if c.caption_id == "rudder_100#ta")
    assert ta.text == "ஒரு மனிதன் நடக்கிறான்" and ta.lang == "ta"
    assert [(p.video_id, p.caption_id, p.label) for p in ds.partial_labels] == [
        ("rudder_100", "rudder_100#ta", 0), ("rudder_101", "rudder_100#ta", 2), ("rudder_100", "rudder_101#hi", 1)]
    assert "rudder_000#mr" in ds.meta["spoken_captions"] and "rudder_100#te" not in ds.meta["spoken_captions"]


def test_language_subset_keeps_partials_consistent():
    ds = read_rudder(ROOT, langs=["hi", "mr"], splits=("train",), val_size=1)
    assert ds.languages == ["hi", "mr"] and ds.partial_labels == []


def test_c2kd_pickle_layout_needs_opt_in(tmp_path):
    entries = [{"id": f"v{i}", "captions": {"hi": f"वाक्य {i}", "en": f"sentence {i}"},
                "audios": {"hi": np.zeros((3, 40), np.float32)}, "2d": np.zeros((4, 8), np.float32)}
               for i in range(3)]
    for split in ("train", "test"):
        with open(tmp_path / f"rudder_{split}.pkl", "wb") as fh:
            pickle.dump([dict(e, id=f"{split}-{e['id']}") for e in entries], fh)
    with pytest.raises(PickleNotAllowedError, match="rudder_train.pkl: this is a Python pickle"):
        read_rudder(tmp_path, val_size=1)
    ds = read_rudder(tmp_path, val_size=1, allow_pickle=True)
    assert ds.summary()["videos"] == {"train": 2, "val": 1, "test": 3}
    assert "train-v0#hi" in ds.meta["spoken_captions"] and "train-v0#en" not in ds.meta["spoken_captions"]


def test_bad_partial_labels(fixture_copy):
    root = fixture_copy("rudder")
    p = root / "rudder_partial_test.csv"
    p.write_text(p.read_text() + "rudder_100,nope#hi,1\nrudder_101,rudder_101#hi,7\n")
    with pytest.raises(ValueError, match=r"rudder_partial_test.csv: unknown video/caption ids or labels not in 0/1/2: "
                                         r"\['line 5: rudder_100/nope#hi', 'line 6: rudder_101/rudder_101#hi'\]"):
        read_rudder(root, val_size=1)


def test_unknown_and_inconsistent_codes(fixture_copy):
    root = fixture_copy("rudder")
    d = json.loads((root / "rudder_test.json").read_text())
    d[1]["captions"]["hin"] = "दूसरा"
    (root / "rudder_test.json").write_text(json.dumps(d, ensure_ascii=False))
    with pytest.raises(ValueError, match=r"rudder_test.json: entry \[1\] \(id 'rudder_101'\) has two caption keys for 'hi'"):
        read_rudder(root, val_size=1)
    d[1]["captions"] = {"xx": "?"}
    (root / "rudder_test.json").write_text(json.dumps(d, ensure_ascii=False))
    with pytest.raises(ValueError, match=r"rudder_test.json entry \[1\] \(id 'rudder_101'\): unknown language code 'xx'"):
        read_rudder(root, val_size=1)


def test_duplicate_video_and_missing_split(fixture_copy):
    root = fixture_copy("rudder")
    d = json.loads((root / "rudder_train.json").read_text())
    (root / "rudder_train.json").write_text(json.dumps(d + [d[0]], ensure_ascii=False))
    with pytest.raises(ValueError, match=r"rudder_train.json: duplicate video ids: 'rudder_000' at entry \[0\], entry \[4\]"):
        read_rudder(root, val_size=1)
    (root / "rudder_train.json").unlink()
    with pytest.raises(FileNotFoundError, match="neither rudder_train.json nor rudder_train.pkl"):
        read_rudder(root)
