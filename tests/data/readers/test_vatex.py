import json
from pathlib import Path

import pytest

from mvkit.data.readers.vatex import read_vatex

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "vatex"


def test_train_and_seeded_val_test_split():
    ds = read_vatex(ROOT, n_val=2)
    assert ds.summary()["videos"] == {"train": 4, "val": 2, "test": 2}
    assert ds.summary()["captions"] == {"en/human": 16, "zh/human": 16}
    again = read_vatex(ROOT, n_val=2)
    assert [v.split for v in ds.videos] == [v.split for v in again.videos]
    v = next(v for v in ds.videos if v.video_id == "Ptf_2VRj-V0_000122_000132")
    assert v.duration == 10.0 and v.split == "train" and v.path == "videos/Ptf_2VRj-V0_000122_000132.mp4"
    zh = next(c for c in ds.captions if c.caption_id == "Ptf_2VRj-V0_000122_000132#zh#1")
    assert zh.text == "有人在外面扔球。" and zh.lang == "zh"


def test_explicit_lists_and_public_test(fixture_copy):
    root = fixture_copy("vatex")
    (root / "val.txt").write_text("Vv1_vV2vV3v_000012_000022\nWw4-wW5wW6w_000040_000050\n")
    (root / "test.txt").write_text("Uu7_uU8uU9u_000003_000013\n")
    with pytest.warns(UserWarning, match=r"1 validation clips in neither list.*Tt0-tT1tT2t_000060_000070"):
        ds = read_vatex(root, val_test_lists=("val.txt", "test.txt"),
                        public_test_json="vatex_public_test_english_v1.1.json", langs=["en"])
    assert ds.summary()["videos"] == {"train": 4, "val": 2, "test": 1, "test_public": 1}
    assert ds.languages == ["en"]


def test_bad_video_id_and_duplicates(fixture_copy):
    root = fixture_copy("vatex")
    d = json.loads((root / "vatex_training_v1.0.json").read_text())
    (root / "vatex_training_v1.0.json").write_text(json.dumps(d + [d[1]]))
    with pytest.raises(ValueError, match=r"duplicate videoIDs: 'Xq8pP1bZ-0c_000005_000015' at vatex_training_v1.0.json\[1\], vatex_training_v1.0.json\[4\]"):
        read_vatex(root, n_val=2)
    d[0]["videoID"] = "Ptf_2VRj-V0_122_132"
    (root / "vatex_training_v1.0.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"entry \[0\] has videoID 'Ptf_2VRj-V0_122_132'"):
        read_vatex(root, n_val=2)


def test_train_val_overlap_and_unknown_lang(fixture_copy):
    root = fixture_copy("vatex")
    t = json.loads((root / "vatex_training_v1.0.json").read_text())
    v = json.loads((root / "vatex_validation_v1.0.json").read_text())
    (root / "vatex_validation_v1.0.json").write_text(json.dumps(v + [t[0]]))
    with pytest.raises(ValueError, match=r"share videoIDs: \['Ptf_2VRj-V0_000122_000132'\]"):
        read_vatex(root, n_val=2)
    with pytest.raises(ValueError, match=r"languages \['de'\] not in this dataset"):
        read_vatex(ROOT, langs=["de"])


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"vatex_validation_v1.0.json: annotation file \(nor "
                                                r"vatex_training_v1.0.json\) not found"):
        read_vatex(tmp_path)


def test_validation_file_alone_is_an_evaluation_release(fixture_copy):
    root = fixture_copy("vatex")
    (root / "vatex_training_v1.0.json").unlink()
    ds = read_vatex(root, n_val=2)
    assert ds.summary()["videos"] == {"val": 2, "test": 2} and "evaluation-only" in ds.meta["splits"]
    assert ds.source.endswith("vatex_validation_v1.0.json")


def test_root_beats_a_same_named_folder_in_the_working_directory(tmp_path, monkeypatch):
    import mvkit.data
    (tmp_path / "vatex").mkdir()            # e.g. an unrelated checkout or download folder
    monkeypatch.chdir(tmp_path)
    ds = mvkit.data.load("vatex", root=ROOT, n_val=2, check_counts=False)
    assert ds.meta["manifest"] == "vatex" and ds.summary()["videos"]["train"] == 4
    with pytest.raises(FileNotFoundError, match="a directory without world.json"):
        mvkit.data.load("vatex")            # without root= the folder is what was meant
