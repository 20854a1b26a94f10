from pathlib import Path

import pytest

from mvkit.data.readers.ccr import parse_tag, read_caption_file, read_ccr

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "msrvtt_cn"


@pytest.mark.parametrize("tag,expected", [
    ("enc", ("en", "human", None)),
    ("zh", ("zh", "human", None)),
    ("zhc", ("zh", "human", None)),
    ("enc2zh", ("zh", "machine-translated", "enc")),
    ("enc2zh2enc", ("en", "back-translated", "enc2zh")),
    ("zh2enc", ("en", "machine-translated", "zh")),
    ("zhc2en", ("en", "machine-translated", "zhc")),
    ("enc2de", ("de", "machine-translated", "enc")),
    ("dec2en", ("en", "machine-translated", "dec")),
    ("enc2cs2enc", ("en", "back-translated", "enc2cs")),
])
def test_parse_tag(tag, expected):
    assert parse_tag(tag) == expected


def test_align_translations_by_id_across_differently_ordered_files():
    ds = read_ccr(ROOT, "msrvttcn", val_size=1)
    by_id = {c.caption_id: c for c in ds.captions}
    # file order differs (video3 first in the zh file), yet each translation finds its source
    zh = by_id["video3#enc2zh#1"]
    assert zh.text == "孩子们在踢球" and zh.source_id == "video3#enc#1"
    assert by_id[zh.source_id].text == "children play soccer"
    back = by_id["video1#enc2zh2enc#0"]
    assert back.kind == "back-translated" and back.lang == "en" and by_id[back.source_id].text == "一个女人在煮意大利面"
    assert by_id[by_id[back.source_id].source_id].text == "a woman cooks pasta"
    for c in ds.captions:
        if c.source_id:
            assert by_id[c.source_id].video_id == c.video_id
    assert ds.summary()["videos"] == {"train": 4, "val": 2, "test": 2}
    assert ds.summary()["captions"] == {"en/back-translated": 8, "en/human": 8, "en/machine-translated": 2,
                                         "zh/human": 4, "zh/machine-translated": 8}


def test_kinds_and_langs_filters():
    ds = read_ccr(ROOT, "msrvttcn", kinds=["human"], langs=["zh"])
    assert {(c.lang, c.kind) for c in ds.captions} == {("zh", "human")}
    assert len(ds.captions) == 4


def test_carves_val_when_release_has_none(fixture_copy):
    root = fixture_copy("msrvtt_cn")
    for p in (root / "TextData").glob("msrvttcnval*"):
        p.unlink()
    ds = read_ccr(root, "msrvttcn", val_size=1, seed=0)
    assert ds.summary()["videos"] == {"train": 3, "val": 1, "test": 2}
    assert ds.meta["val"] == "1 videos carved from train with seed 0"


def test_malformed_line_names_file_and_line(fixture_copy):
    root = fixture_copy("msrvtt_cn")
    p = root / "TextData" / "msrvttcntest_zh.caption.txt"
    p.write_text(p.read_text() + "video5_zh_0 没有标签\n")
    with pytest.raises(ValueError, match=r"msrvttcntest_zh.caption.txt:3: expected '<videoID>#<tag>#<k> <caption>'"):
        read_ccr(root, "msrvttcn")


def test_unknown_tag_language(fixture_copy):
    root = fixture_copy("msrvtt_cn")
    p = root / "TextData" / "msrvttcntest_zh.caption.txt"
    p.write_text(p.read_text() + "video5#enc2xx#0 ???\n")
    with pytest.raises(ValueError, match=r"msrvttcntest_zh.caption.txt:3: unknown language code 'xx'"):
        read_ccr(root, "msrvttcn")


def test_inconsistent_tag_for_file(fixture_copy):
    root = fixture_copy("msrvtt_cn")
    p = root / "TextData" / "msrvttcntest_zh.caption.txt"
    p.write_text(p.read_text() + "video5#enc#0 an english line in the zh file\n")
    with pytest.raises(ValueError, match=r"inconsistent language tags: file is 'zh' but lines \['3'\]"):
        read_ccr(root, "msrvttcn")


def test_duplicate_ids_and_split_clash(fixture_copy):
    root = fixture_copy("msrvtt_cn")
    p = root / "TextData" / "msrvttcntest_zh.caption.txt"
    p.write_text(p.read_text() + "video9#zh#0 重复\n")
    with pytest.raises(ValueError, match=r"duplicate caption ids: 'video9#zh#0' at .*:1, .*:3"):
        read_ccr(root, "msrvttcn")
    p.write_text("video0#zh#5 测试视频也在训练集\n")
    with pytest.raises(ValueError, match=r"video 'video0' is in train but also in test|video 'video0' is in test but also in train"):
        read_ccr(root, "msrvttcn")


def test_dangling_translation_and_empty_caption_warn(fixture_copy):
    root = fixture_copy("msrvtt_cn")
    (root / "TextData" / "msrvttcntrain.caption.txt").unlink()
    p = root / "TextData" / "msrvttcntest_zh.caption.txt"
    p.write_text(p.read_text() + "video5#zh#0\n")
    with pytest.warns(UserWarning) as rec:
        ds = read_ccr(root, "msrvttcn")
    msgs = " ".join(str(w.message) for w in rec)
    assert "skipped 1 empty caption(s)" in msgs and "video5#zh#0" in msgs
    assert "8 translation(s) whose source caption is not in the loaded files" in msgs
    assert "video5" in {v.video_id for v in ds.videos}   # the video stays; only its empty caption went


def test_read_caption_file_positions(tmp_path):
    p = tmp_path / "x.caption.txt"
    p.write_text("v1#enc#0 hello world\n\nv2#zh#3 你好\n")
    rows = read_caption_file(p)
    assert [(w.rsplit(":", 1)[1], c.caption_id, c.text) for w, c in rows] == [
        ("1", "v1#enc#0", "hello world"), ("3", "v2#zh#3", "你好")]


def test_missing_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="TextData: caption directory not found"):
        read_ccr(tmp_path, "msrvttcn")


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_test_only_release_with_zhc_tags_loads_for_evaluation(tmp_path):
    """LECCR/MLCMR-style test files alone: human Chinese (zhc) and its translation (zhc2en)."""
    td = tmp_path / "TextData"
    _write(td / "vatextest_zhc.caption.txt", ["G9zN5TTuGO4_000179_000189#zhc#0 一个男人在厨房里切菜",
                                              "G9zN5TTuGO4_000179_000189#zhc#1 厨师把胡萝卜切成片",
                                              "Ab3kq8DvS_E_000010_000020#zhc#0 两个孩子在海边放风筝"])
    _write(td / "vatextest_google_zhc2en.caption.txt", ["Ab3kq8DvS_E_000010_000020#zhc2en#0 two children fly a kite by the sea",
                                                        "G9zN5TTuGO4_000179_000189#zhc2en#1 the chef cuts carrots into slices",
                                                        "G9zN5TTuGO4_000179_000189#zhc2en#0 a man cuts vegetables in the kitchen"])
    ds = read_ccr(tmp_path, "vatex")
    assert ds.summary()["videos"] == {"test": 2} and ds.meta["val"] == "none: evaluation-only release (no training split)"
    by_id = {c.caption_id: c for c in ds.captions}
    c = by_id["G9zN5TTuGO4_000179_000189#zhc2en#1"]     # the file's second line, field by field
    assert (c.video_id, c.lang, c.text, c.kind, c.source_id) == (
        "G9zN5TTuGO4_000179_000189", "en", "the chef cuts carrots into slices", "machine-translated",
        "G9zN5TTuGO4_000179_000189#zhc#1")
    src = by_id[c.source_id]
    assert (src.lang, src.kind, src.text, src.source_id) == ("zh", "human", "厨师把胡萝卜切成片", None)
    assert ds.summary()["captions"] == {"en/machine-translated": 3, "zh/human": 3}
    assert read_ccr(tmp_path, "vatex", langs=["zh"], kinds=["human"]).summary()["captions"] == {"zh/human": 3}


def test_langs_skips_files_of_unknown_languages_before_they_fail(fixture_copy):
    root = fixture_copy("msrvtt_cn")
    _write(root / "TextData" / "msrvttcntrain_google_enc2xx.caption.txt", ["video0#enc2xx#0 ???"])
    with pytest.raises(ValueError, match=r"msrvttcntrain_google_enc2xx.caption.txt:1: unknown language code 'xx'"):
        read_ccr(root, "msrvttcn")
    ds = read_ccr(root, "msrvttcn", langs=["en", "zh"])
    assert ds.meta["skipped"]["files"] == ["msrvttcntrain_google_enc2xx.caption.txt"]
    assert ds.summary()["captions"] == read_ccr(ROOT, "msrvttcn", langs=["en", "zh"]).summary()["captions"]
    (root / "TextData" / "msrvttcntrain_google_enc2xx.caption.txt").rename(
        root / "TextData" / "msrvttcntrain_google_enc2de.caption.txt")
    p = root / "TextData" / "msrvttcntrain_google_enc2de.caption.txt"
    _write(p, ["video0#enc2de#0 eine Frau kocht Nudeln"])
    ds = read_ccr(root, "msrvttcn", langs=["zh"])
    assert "msrvttcntrain_google_enc2de.caption.txt" in ds.meta["skipped"]["files"] and ds.languages == ["zh"]
    assert read_ccr(root, "msrvttcn").summary()["captions"]["de/machine-translated"] == 1
    p = root / "TextData" / "msrvttcntrain.caption.txt"       # an unknown tag inside an untagged file
    p.write_text(p.read_text() + "video0#qq2en#0 a line of an unknown language\n")
    with pytest.warns(UserWarning, match=r"skipped 1 caption line\(s\) whose tag names a language mvkit does "
                                         r"not know .*\{'qq2en': 1\}"):
        read_ccr(root, "msrvttcn", langs=["en", "zh"])


def test_val_size_zero_and_a_carve_that_cannot_be_made(fixture_copy):
    root = fixture_copy("msrvtt_cn")
    for p in (root / "TextData").glob("msrvttcnval*"):
        p.unlink()
    ds = read_ccr(root, "msrvttcn", val_size=0)
    assert ds.summary()["videos"] == {"train": 4, "test": 2} and ds.meta["val"] == "none (val_size=0)"
    with pytest.raises(ValueError, match=r"TextData: cannot carve 9 validation videos from 4 training videos"):
        read_ccr(root, "msrvttcn", val_size=9)
