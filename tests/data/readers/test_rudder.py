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
    (root / "rudder_train.json").unlink()   # the test file alone: an evaluation-only release
    ds = read_rudder(root)
    assert ds.summary()["videos"] == {"test": 2} and ds.meta["val"].startswith("none: evaluation-only")
    (root / "rudder_test.json").unlink()
    with pytest.raises(FileNotFoundError, match="neither rudder_train.json nor rudder_train.pkl"):
        read_rudder(root)


# ---- RUDDER's original release (collaborative-experts layout) ---------------------------------
MR = {"rud_0001": [["एक", "माणूस", "चालत", "आहे"], "एक माणूस रस्त्यावर चालत आहे"],
      "rud_0002": [["एक", "मांजर", "झोपली", "आहे"]],
      "rud_0003": ["दोन मुले खेळत आहेत"]}
HI = {"rud_0001": ["एक आदमी चल रहा है"], "rud_0003": ["दो बच्चे खेल रहे हैं"]}


def write_original(root, captions_per_video=3):
    """split lists, raw-captions_<language>.pickle and an aggregated_text_feats label pickle."""
    root.mkdir(parents=True, exist_ok=True)
    for name, ids in (("train_list_full.txt", ["rud_0001", "rud_0002"]), ("val_list_full.txt", []),
                      ("test_list_full.txt", ["rud_0003"])):
        (root / name).write_text("".join(f"{v}\n" for v in ids))
    for lang, data in (("marathi", MR), ("hindi", HI)):
        with open(root / f"raw-captions_{lang}.pickle", "wb") as fh:
            pickle.dump(data, fh)
    (root / "aggregated_text_feats").mkdir()
    feats = {v: [np.zeros((4, 6), np.float32)] * captions_per_video + [np.array([0, 1, 3][:captions_per_video])]
             for v in MR}
    with open(root / "aggregated_text_feats" / "marathi.pickle", "wb") as fh:
        pickle.dump(feats, fh)
    return root


def test_original_release_languages_from_file_names(tmp_path):
    root = write_original(tmp_path / "rudder")
    with pytest.raises(PickleNotAllowedError, match=r"raw-captions_hindi.pickle: this is a Python pickle"):
        read_rudder(root)
    ds = read_rudder(root, allow_pickle=True, captions_per_video=3)
    assert ds.meta["layout"] == "original" and ds.languages == ["hi", "mr"]      # Marathi is never English
    assert ds.summary()["videos"] == {"train": 2, "test": 1}
    by_id = {c.caption_id: c for c in ds.captions}
    c = by_id["rud_0001#mr#0"]                       # a tokenised caption: tokens joined by spaces
    assert (c.video_id, c.lang, c.text, c.kind, c.source_id) == ("rud_0001", "mr", "एक माणूस चालत आहे", "human", None)
    assert by_id["rud_0001#mr#1"].text == MR["rud_0001"][1] and by_id["rud_0003#hi#0"].text == HI["rud_0003"][0]
    assert ds.meta["partial_order_labels"]["mr"]["rud_0002"] == [0, 1, 3]
    assert ds.meta["partial_order_counts"]["mr"] == {"positive": 3, "partial": 3, "negative": 3}
    assert read_rudder(root, ["mr"], allow_pickle=True, captions_per_video=3).languages == ["mr"]


def test_original_release_faults_name_the_file(tmp_path):
    root = write_original(tmp_path / "rudder")
    with pytest.raises(ValueError, match=r"marathi.pickle: video 'rud_0001': expected 30 caption feature arrays "
                                         r"followed by the label array"):
        read_rudder(root, allow_pickle=True)            # the release's 30 captions per video, not 3
    with open(root / "raw-captions_english.pickle", "wb") as fh:   # Marathi text under an English file name
        pickle.dump({"rud_0002": ["एक मांजर झोपली आहे"]}, fh)
    with pytest.warns(UserWarning, match=r"1 caption\(s\) are not written in the script of their declared "
                                         r"language \(\{'en -> Devanagari': 1\}"):
        read_rudder(root, ["en"], allow_pickle=True)
    (root / "raw-captions_klingon.pickle").write_bytes((root / "raw-captions_english.pickle").read_bytes())
    with pytest.raises(ValueError, match=r"raw-captions_klingon.pickle \(language in the file name\): unknown "
                                         r"language code 'klingon'"):
        read_rudder(root, allow_pickle=True, captions_per_video=3)


def test_c2kd_pickle_by_either_suffix(tmp_path):
    entries = [{"id": "v1", "captions": {"mr": "एक माणूस चालत आहे"}, "audios": {"mr": np.zeros((2, 4))}}]
    with open(tmp_path / "rudder_test.pickle", "wb") as fh:
        pickle.dump(entries, fh)
    with pytest.raises(PickleNotAllowedError, match="rudder_test.pickle"):
        read_rudder(tmp_path)
    ds = read_rudder(tmp_path, allow_pickle=True)
    assert ds.summary()["videos"] == {"test": 1} and ds.captions[0].lang == "mr"
