import json
from pathlib import Path

import pytest

from mvkit.data import load
from mvkit.data.readers.common import DataWarning
from mvkit.data.readers.tacos import read_tacos
from mvkit.data.records import Span

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "tacos"


def test_release_layout_field_by_field():
    ds = read_tacos(ROOT)
    assert ds.summary()["videos"] == {"train": 2, "val": 1, "test": 1}
    caps = {c.caption_id: c for c in ds.captions}
    assert len(caps) == 7
    c = caps["s13-d21#1"]
    assert (c.video_id, c.lang, c.kind, c.text) == ("s13-d21", "en", "human", "He washes the carrots.")
    assert c.spans == (Span(294 / 29.4, 1470 / 29.4),) and c.attributes == {"frames": [294, 1470]}
    v = {v.video_id: v for v in ds.videos}
    assert v["s13-d21"].duration == pytest.approx(4672 / 29.4) and v["s13-d21"].path == "videos/s13-d21.avi"
    assert caps["s30-d29#1"].spans[0].end == pytest.approx(v["s30-d29"].duration)   # ends on the last frame


def test_load_through_the_manifest():
    with pytest.warns(DataWarning, match="split sizes differ"):   # a 4-video fixture, not 75/27/25
        ds = load("tacos", root=ROOT)
    assert ds.meta["variant"] == "2d-tan"


def _edit(root, name, fn):
    p = root / name
    data = json.loads(p.read_text())
    fn(data)
    p.write_text(json.dumps(data, indent=4))


def test_bad_queries_name_file_line_and_query(fixture_copy):
    root = fixture_copy("tacos")
    _edit(root, "val.json", lambda d: d["s30-d29.avi"]["timestamps"].__setitem__(1, [700, 600]))
    with pytest.raises(ValueError, match=r"val.json:2 \(video 's30-d29.avi'\) query 1: start 23.8095 is not before end 20.4082"):
        read_tacos(root)
    _edit(root, "val.json", lambda d: d["s30-d29.avi"]["timestamps"].__setitem__(1, [588, 5900]))
    with pytest.raises(ValueError, match=r"val.json:2 \(video 's30-d29.avi'\) query 1: window .* lies outside the video"):
        read_tacos(root)
    with pytest.warns(DataWarning, match=r"val.json: repaired 1 window"):
        ds = read_tacos(root, repair=True)
    assert {c.caption_id: c for c in ds.captions}["s30-d29#1"].spans[0].end == pytest.approx(200.0)
    _edit(root, "val.json", lambda d: d["s30-d29.avi"]["sentences"].pop())
    with pytest.raises(ValueError, match=r"val.json:2 \(video 's30-d29.avi'\): 2 timestamps but 1 sentences"):
        read_tacos(root)


def test_invalid_json_names_line(fixture_copy):
    root = fixture_copy("tacos")
    (root / "test.json").write_text('{"s27-d50.avi": {"num_frames": 2940,\n "fps": 29.4,, }}')
    with pytest.raises(ValueError, match=r"test.json:2: invalid JSON"):
        read_tacos(root)
