from pathlib import Path

import pytest

from mvkit.data import load
from mvkit.data.readers.common import DataWarning
from mvkit.data.readers.qvhighlights import read_qvhighlights
from mvkit.data.records import Span

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "qvhighlights"


def test_release_layout_field_by_field():
    ds = read_qvhighlights(ROOT)
    assert ds.summary()["videos"] == {"train": 2, "val": 2, "test": 2}
    caps = {c.caption_id: c for c in ds.captions}
    assert len(caps) == 7
    c = caps["8737"]
    assert (c.video_id, c.lang, c.kind, c.text) == (
        "bP5KfdFJzC4_660.0_810.0", "en", "human", "A family is playing basketball together on a green court outside.")
    assert c.spans == (Span(0.0, 16.0),)
    assert c.attributes["qid"] == 8737 and c.attributes["relevant_clip_ids"] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert c.attributes["saliency_scores"][3] == [4, 3, 2]
    assert caps["7920"].spans == (Span(134.0, 138.0), Span(140.0, 150.0))   # several windows
    assert caps["3158"].spans is None and "saliency_scores" not in caps["3158"].attributes   # test: withheld
    v = {v.video_id: v for v in ds.videos}
    assert v["bP5KfdFJzC4_660.0_810.0"].duration == 126.0   # the file's duration, not the vid's 150 s
    assert v["mpBDaqeaJIQ_60.0_210.0"].path == "videos/mpBDaqeaJIQ_60.0_210.0.mp4"
    assert v["_6hnl_BrFvs_60.0_210.0"].split == "train"


def test_load_through_the_manifest():
    ds = load("qvhighlights", root=ROOT)
    assert ds.meta["manifest"] == "qvhighlights" and len(ds.videos) == 6


def _write(root, name, line, n=1):
    p = root / name
    lines = p.read_text().splitlines()
    lines[n - 1] = line
    p.write_text("\n".join(lines) + "\n")
    return p


_LINE = ('{{"qid": 1, "query": "x", "duration": {d}, "vid": "a", "relevant_windows": {w}, '
         '"relevant_clip_ids": [], "saliency_scores": []}}')


@pytest.mark.parametrize("line,msg", [
    (_LINE.format(d=150, w="[[20, 10]]"), r"train_release.jsonl:1 relevant_windows\[0\]: start 20 is not before end 10"),
    (_LINE.format(d=150, w="[[140, 152]]"), r"train_release.jsonl:1 relevant_windows\[0\]: window \[140, 152\] lies outside the video \(duration 150 s\)"),
    ('{"qid": 1, "query": "x", "duration": 150, "vid": "a" "relevant_windows": []}', r"train_release.jsonl:1: not a JSON object"),
    ('{"qid": 1, "query": "x", "duration": 150, "vid": "a"}', r"train_release.jsonl:1: missing field\(s\) \['relevant_windows'"),
    (_LINE.format(d='"long"', w="[[0, 1]]"), r"train_release.jsonl:1: duration 'long' is not a number"),
])
def test_bad_lines_name_file_and_line(fixture_copy, line, msg):
    root = fixture_copy("qvhighlights")
    _write(root, "highlight_train_release.jsonl", line)
    with pytest.raises(ValueError, match=msg):
        read_qvhighlights(root)


def test_repair_clips_and_warns(fixture_copy):
    root = fixture_copy("qvhighlights")
    _write(root, "highlight_train_release.jsonl",
           '{"qid": 1, "query": "x", "duration": 150, "vid": "a", "relevant_windows": [[140, 152], [160, 170]], '
           '"relevant_clip_ids": [], "saliency_scores": []}')
    with pytest.warns(DataWarning, match=r"repaired 2 window\(s\).*clipped to \[140, 150\].*dropped"):
        ds = read_qvhighlights(root, repair=True)
    assert {c.caption_id: c for c in ds.captions}["1"].spans == (Span(140.0, 150.0),)


def test_inconsistent_duration_and_video_in_two_splits(fixture_copy):
    root = fixture_copy("qvhighlights")
    _write(root, "highlight_train_release.jsonl",
           '{"qid": 1, "query": "x", "duration": 140, "vid": "_6hnl_BrFvs_60.0_210.0", "relevant_windows": [[0, 2]], '
           '"relevant_clip_ids": [0], "saliency_scores": [[1, 1, 1]]}')
    with pytest.raises(ValueError, match=r"train_release.jsonl:2: video '_6hnl_BrFvs_60.0_210.0' has duration 150 here "
                                         r"but 140 at .*train_release.jsonl:1"):
        read_qvhighlights(root)
    _write(root, "highlight_train_release.jsonl",
           '{"qid": 1, "query": "x", "duration": 150, "vid": "u-UA8t2EVpA_210.0_360.0", "relevant_windows": [[0, 2]], '
           '"relevant_clip_ids": [0], "saliency_scores": [[1, 1, 1]]}')
    with pytest.raises(ValueError, match=r"val_release.jsonl:3: video 'u-UA8t2EVpA_210.0_360.0' is already in split 'train'"):
        read_qvhighlights(root)
