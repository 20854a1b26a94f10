import json
from pathlib import Path

import pytest

from mvkit.data.readers.msrvtt import read_msrvtt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

ROOT = FIXTURES / "msrvtt"


def _counts(ds):
    return ds.summary()["videos"]


@pytest.mark.parametrize("scheme,expected", [
    ("9k", {"train": 8, "val": 2, "test": 2}),    # 10 ids in MSRVTT_train.9k.csv, 2 carved
    ("7k", {"train": 6, "val": 2, "test": 2}),    # 8 ids in MSRVTT_train.7k.csv
    ("full", {"train": 6, "val": 2, "test": 4}),  # official split field
])
def test_split_schemes_select_the_right_videos(scheme, expected):
    ds = read_msrvtt(ROOT, scheme, val_size=2)
    assert _counts(ds) == expected
    if scheme == "7k":
        assert {v.video_id for v in ds.videos if v.split != "test"} == {f"video{i}" for i in range(8)}
    if scheme == "9k":
        assert {v.video_id for v in ds.videos if v.split != "test"} == {f"video{i}" for i in range(10)}


def test_1ka_test_has_one_jsfusion_caption_and_full_test_has_all():
    ds = read_msrvtt(ROOT, "9k", val_size=2)
    test = ds.subset("test")
    assert [(c.video_id, c.text) for c in test.captions] == [
        ("video10", "a bird flies over the water"), ("video11", "two men are boxing")]
    full = read_msrvtt(ROOT, "full").subset("test")
    assert len(full.captions) == 4 * 2 and {c.video_id for c in full.captions} == {"video8", "video9", "video10", "video11"}


def test_train_captions_paths_durations():
    ds = read_msrvtt(ROOT, "7k", val_size=2)
    v0 = next(v for v in ds.videos if v.video_id == "video0")
    assert v0.path == "MSRVTT/videos/all/video0.mp4" and v0.duration == pytest.approx(10.5)
    caps = [c for c in ds.captions if c.video_id == "video0"]
    assert [c.caption_id for c in caps] == ["video0#0", "video0#1"]
    assert caps[1].text == "a man is talking about a car slowly" and caps[0].lang == "en" and caps[0].kind == "human"


def test_val_carve_is_seeded_and_disjoint():
    a = read_msrvtt(ROOT, "9k", val_size=2, seed=3)
    b = read_msrvtt(ROOT, "9k", val_size=2, seed=3)
    val = [v.video_id for v in a.videos if v.split == "val"]
    assert val == [v.video_id for v in b.videos if v.split == "val"]
    assert not set(val) & {v.video_id for v in a.videos if v.split == "train"}


def test_missing_file_is_named(fixture_copy):
    root = fixture_copy("msrvtt")
    (root / "MSRVTT_train.7k.csv").unlink()
    with pytest.raises(FileNotFoundError, match="MSRVTT_train.7k.csv: training list not found"):
        read_msrvtt(root, "7k")


def test_unknown_scheme():
    with pytest.raises(ValueError, match="split_scheme '5k'"):
        read_msrvtt(ROOT, "5k")


def test_duplicate_ids_in_csv_name_lines(fixture_copy):
    root = fixture_copy("msrvtt")
    with open(root / "MSRVTT_train.7k.csv", "a") as fh:
        fh.write("video3\n")
    with pytest.raises(ValueError, match=r"MSRVTT_train.7k.csv: duplicate video ids: 'video3' at line 5, line 10"):
        read_msrvtt(root, "7k")


def test_sentence_for_unknown_video(fixture_copy):
    root = fixture_copy("msrvtt")
    d = json.loads((root / "MSRVTT_data.json").read_text())
    d["sentences"].append({"caption": "ghost", "video_id": "video999", "sen_id": 9999})
    (root / "MSRVTT_data.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"MSRVTT_data.json: sentences for videos missing from 'videos': \['video999'\].*9999 -> video999"):
        read_msrvtt(root, "9k", val_size=2)


def test_duplicate_sen_id(fixture_copy):
    root = fixture_copy("msrvtt")
    d = json.loads((root / "MSRVTT_data.json").read_text())
    d["sentences"][5]["sen_id"] = 0
    (root / "MSRVTT_data.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"duplicate sen_id values: '0' at sentences\[0\], sentences\[5\]"):
        read_msrvtt(root, "9k", val_size=2)


def test_test_video_unknown_and_overlap(fixture_copy):
    root = fixture_copy("msrvtt")
    p = root / "MSRVTT_JSFUSION_test.csv"
    p.write_text(p.read_text() + "ret2,msr77,video77,nothing\n")
    with pytest.raises(ValueError, match=r"MSRVTT_JSFUSION_test.csv: video ids not in MSRVTT_data.json: \['video77 \(line 4\)'\]"):
        read_msrvtt(root, "9k", val_size=2)
    p.write_text("key,vid_key,video_id,sentence\nret0,msr1,video1,x\n")
    with pytest.raises(ValueError, match=r"share videos: \['video1'\]"):
        read_msrvtt(root, "9k", val_size=2)


def test_empty_caption_skipped_with_warning(fixture_copy):
    root = fixture_copy("msrvtt")
    d = json.loads((root / "MSRVTT_data.json").read_text())
    d["sentences"][1]["caption"] = "   "
    (root / "MSRVTT_data.json").write_text(json.dumps(d))
    with pytest.warns(UserWarning, match=r"skipped 1 empty caption\(s\): \['video0#1 \(sentences\[1\]\)'\]"):
        ds = read_msrvtt(root, "7k", val_size=2)
    assert "video0#1" not in {c.caption_id for c in ds.captions}


def test_bad_json_names_line(fixture_copy):
    root = fixture_copy("msrvtt")
    (root / "MSRVTT_data.json").write_text('{"videos": [\n  {"video_id": "v0",}\n]}')
    with pytest.raises(ValueError, match=r"MSRVTT_data.json:2: invalid JSON"):
        read_msrvtt(root, "9k")


def test_unreadable_inputs_are_named(fixture_copy):
    root = fixture_copy("msrvtt")
    (root / "MSRVTT_data.json").unlink()
    (root / "MSRVTT_data.json").mkdir()
    with pytest.raises(FileNotFoundError, match=r"MSRVTT_data.json: annotation file not found \(it is a directory\)"):
        read_msrvtt(root, "9k")


def test_csv_without_video_id_column(fixture_copy):
    root = fixture_copy("msrvtt")
    (root / "MSRVTT_train.9k.csv").write_text("vid\nvideo1\n")
    with pytest.raises(ValueError, match=r"MSRVTT_train.9k.csv:1: missing column\(s\) \['video_id'\]; header is \['vid'\]"):
        read_msrvtt(root, "9k", val_size=0)


def test_the_1ka_test_file_alone_is_an_evaluation_release(tmp_path):
    import shutil
    shutil.copy(ROOT / "MSRVTT_JSFUSION_test.csv", tmp_path / "MSRVTT_JSFUSION_test.csv")
    ds = read_msrvtt(tmp_path, "9k")
    assert _counts(ds) == {"test": 2} and ds.meta["val"].startswith("none: evaluation-only")
    line = (tmp_path / "MSRVTT_JSFUSION_test.csv").read_text().splitlines()[1].split(",")
    c = next(c for c in ds.captions if c.video_id == line[2])    # the file's first row, field by field
    assert (c.caption_id, c.lang, c.text, c.kind) == (f"{line[2]}#jsfusion", "en", ",".join(line[3:]), "human")
    with pytest.raises(FileNotFoundError, match="MSRVTT_data.json: annotation file not found"):
        read_msrvtt(tmp_path, "full")
