from pathlib import Path

import pytest

from mvkit.data import load
from mvkit.data.readers.charades_sta import parse_sta_line, read_charades_sta
from mvkit.data.readers.common import DataWarning
from mvkit.data.records import Span

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "charades_sta"


def test_release_layout_field_by_field():
    ds = read_charades_sta(ROOT, n_val=1, seed=0)
    assert sorted(ds.summary()["videos"].items()) == [("test", 2), ("train", 2), ("val", 1)]
    caps = {c.caption_id: c for c in ds.captions}
    assert len(caps) == 7
    c = caps["3MSZA#0"]
    assert (c.video_id, c.lang, c.kind, c.text, c.spans) == ("3MSZA", "en", "human", "person turn a light on.",
                                                              (Span(24.3, 30.4),))
    assert caps["3MSZA#1"].spans == (Span(0.0, 6.9),) and caps["3MSZA#1"].attributes == {"line": 2}
    assert caps["Y6R7T#1"].text == "person holding a phone."      # leading blanks stripped
    v = {v.video_id: v for v in ds.videos}
    assert v["3MSZA"].duration == 31.0 and v["KBPDM"].duration == 30.21
    assert v["Y6R7T"].split == "test" and v["Y6R7T"].path == "Charades_v1_480/Y6R7T.mp4"
    again = read_charades_sta(ROOT, n_val=1, seed=0)
    assert [x.split for x in again.videos] == [x.split for x in ds.videos]   # seeded carve


def test_parse_line():
    assert parse_sta_line("3MSZA 24.3 30.4##person turn a light on.", "f:1") == (
        "3MSZA", 24.3, 30.4, "person turn a light on.")
    with pytest.raises(ValueError, match=r"f:7: expected 'VIDEOID start end##sentence', got '3MSZA 24.3 30.4 person'"):
        parse_sta_line("3MSZA 24.3 30.4 person", "f:7")
    with pytest.raises(ValueError, match=r"f:2: end '3O.4' is not a number"):
        parse_sta_line("3MSZA 24.3 3O.4##x", "f:2")


def test_load_through_the_manifest():
    with pytest.raises(ValueError, match="cannot carve 500 validation videos from 3"):   # a 3-video fixture
        load("charades_sta", root=ROOT)
    ds = load("charades_sta", root=ROOT, n_val=1, check_counts=False)
    assert ds.meta["manifest"] == "charades_sta"


@pytest.mark.parametrize("line,msg", [
    ("3MSZA 24.3 31.4##too long.", r"charades_sta_train.txt:1: window \[24.3, 31.4\] lies outside the video \(duration 31 s\)"),
    ("3MSZA 6.0 6.0##empty moment.", r"charades_sta_train.txt:1: start 6 is not before end 6"),
    ("ZZZZZ 1.0 2.0##who is this.", r"charades_sta_train.txt:1: query for unknown video 'ZZZZZ' \(not in Charades_v1_train.csv\)"),
    ("3MSZA 1.0 2.0 no separator", r"charades_sta_train.txt:1: expected 'VIDEOID start end##sentence'"),
])
def test_bad_lines_name_file_and_line(fixture_copy, line, msg):
    root = fixture_copy("charades_sta")
    p = root / "charades_sta_train.txt"
    p.write_text(line + "\n" + "\n".join(p.read_text().splitlines()[1:]) + "\n")
    with pytest.raises(ValueError, match=msg):
        read_charades_sta(root, n_val=1)


def test_repair_clips_ends_past_the_video(fixture_copy):
    root = fixture_copy("charades_sta")
    p = root / "charades_sta_test.txt"
    p.write_text(p.read_text() + "KBPDM 29.0 33.0##person leaves.\nKBPDM 31.0 33.0##after the end.\n")
    with pytest.raises(ValueError, match=r"charades_sta_test.txt:4: window \[29, 33\] lies outside.*repair=True"):
        read_charades_sta(root, n_val=1)
    with pytest.warns(DataWarning, match=r"charades_sta_test.txt: repaired 2 window\(s\).*:4 .*clipped to \[29, 30.21\].*:5 .*dropped"):
        ds = read_charades_sta(root, n_val=1, repair=True)
    caps = {c.caption_id: c for c in ds.captions}
    assert caps["KBPDM#1"].spans == (Span(29.0, 30.21),) and "KBPDM#2" not in caps


def test_missing_duration_file(fixture_copy):
    root = fixture_copy("charades_sta")
    (root / "Charades_v1_test.csv").unlink()
    with pytest.raises(FileNotFoundError, match="Charades_v1_test.csv: Charades csv \\(video durations\\) not found"):
        read_charades_sta(root, n_val=1)
