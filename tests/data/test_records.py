import pytest

from mvkit.data.languages import normalize_lang
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord


def _ds(videos, captions, **kw):
    return RetrievalDataset("t", "/tmp", videos, captions, source="fixture.json", **kw)


def test_subset_and_summary():
    vs = [VideoRecord("a", "a.mp4", "train"), VideoRecord("b", "b.mp4", "test")]
    cs = [CaptionRecord("1", "a", "en", "x"), CaptionRecord("2", "b", "hi", "य"),
          CaptionRecord("3", "b", "en", "z", kind="machine-translated")]
    ds = _ds(vs, cs)
    t = ds.subset("test", langs=["en"])
    assert [c.caption_id for c in t.captions] == ["3"]
    assert ds.languages == ["en", "hi"]
    assert ds.summary()["captions"] == {"en/human": 1, "en/machine-translated": 1, "hi/human": 1}


@pytest.mark.parametrize("videos,captions,msg", [
    ([VideoRecord("a", None, "t"), VideoRecord("a", None, "t")], [], "duplicate video ids: \\['a'\\]"),
    ([VideoRecord("a", None, "t")], [CaptionRecord("1", "zz", "en", "x")], "captions for unknown videos: \\['zz'\\]"),
    ([VideoRecord("a", None, "t")], [CaptionRecord("1", "a", "en", "  ")], "empty captions: \\['1'\\]"),
    ([VideoRecord("a", None, "t")], [CaptionRecord("1", "a", "cz", "x")], "non-canonical language"),
])
def test_bad_input_names_source_and_ids(videos, captions, msg):
    with pytest.raises(ValueError, match="fixture.json: " + msg):
        _ds(videos, captions)


def test_normalize_lang_aliases_and_errors():
    assert normalize_lang("cz") == "cs" and normalize_lang("chCap".replace("Cap", "")) == "zh"
    with pytest.raises(ValueError, match="x.csv: unknown language code 'xx'"):
        normalize_lang("xx", source="x.csv")


def test_spans_on_captions():
    from mvkit.data.records import Span

    c = CaptionRecord("1", "a", "en", "x", spans=[[1, 2.5], (3, 4)])    # JSON lists become Spans
    assert c.spans == (Span(1.0, 2.5), Span(3.0, 4.0)) and c.spans[0].end == 2.5
    assert CaptionRecord("2", "a", "en", "x").spans is None               # not a grounding query
    with pytest.raises(ValueError, match=r"span \[3, 3\]: start must be before end"):
        CaptionRecord("3", "a", "en", "x", spans=[[3, 3]])
    with pytest.raises(ValueError, match=r"span \[1, 2, 3\] is not a \[start, end\] pair"):
        CaptionRecord("4", "a", "en", "x", spans=[[1, 2, 3]])
    ok = _ds([VideoRecord("a", None, "t", duration=10.0)], [c])
    assert ok.captions[0].spans[1] == (3.0, 4.0)
    with pytest.raises(ValueError, match=r"fixture.json: spans outside their video's duration: \['1 \[3, 4\] \(duration 3.5\)'\]"):
        _ds([VideoRecord("a", None, "t", duration=3.5)], [c])
    with pytest.raises(ValueError, match=r"fixture.json: spans outside .*video 'a' has no duration"):
        _ds([VideoRecord("a", None, "t")], [c])
