import json
from pathlib import Path

import pytest

from mvkit.data.languages import MULTI_MSRVTT
from mvkit.data.readers.multi_msrvtt import read_multi_msrvtt

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "multi_msrvtt"


def test_nine_languages_parallel_captions():
    ds = read_multi_msrvtt(ROOT)
    assert ds.languages == sorted(MULTI_MSRVTT)
    assert ds.summary()["videos"] == {"test": 3}
    ru = next(c for c in ds.captions if c.caption_id == "video7020#ru#0")
    assert ru.text == "собака бежит по пляжу" and ru.kind == "machine-translated" and ru.source_id == "video7020#en#0"
    en = {c.caption_id: c for c in ds.captions if c.lang == "en"}
    assert all(c.kind == "human" and c.source_id is None for c in en.values())
    # every translation points at an English caption of the same video
    for c in ds.captions:
        if c.source_id:
            assert en[c.source_id].video_id == c.video_id
    assert ds.videos[0].path == "MSRVTT/videos/all/video7010.mp4"


def test_language_subset_and_unknown_language():
    ds = read_multi_msrvtt(ROOT, langs=["en", "cz"])   # alias accepted
    assert ds.languages == ["cs", "en"]
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        read_multi_msrvtt(ROOT, langs=["xx"])


def test_cz_file_name_is_normalised_and_duplicates_are_inconsistent(fixture_copy):
    root = fixture_copy("multi_msrvtt")
    (root / "test_cs.json").rename(root / "test_cz.json")
    assert "cs" in read_multi_msrvtt(root).languages
    (root / "test_cs.json").write_text((root / "test_cz.json").read_text())
    with pytest.raises(ValueError, match="inconsistent language codes: test_cs.json and test_cz.json both hold 'cs'"):
        read_multi_msrvtt(root)


def test_unknown_language_file(fixture_copy):
    root = fixture_copy("multi_msrvtt")
    (root / "test_qq.json").write_text("{}")
    with pytest.raises(ValueError, match=r"test_qq.json: unknown language code 'qq'"):
        read_multi_msrvtt(root)


def test_videos_and_counts_must_agree_across_languages(fixture_copy):
    root = fixture_copy("multi_msrvtt")
    d = json.loads((root / "test_de.json").read_text())
    d["video9999.mp4"] = ["extra"]
    (root / "test_de.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"test_de.json: videos differ from test_en.json: extra \['video9999'\]"):
        read_multi_msrvtt(root)
    d.pop("video9999.mp4")
    d["video7010.mp4"].append("zweite")
    (root / "test_de.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"test_de.json: caption counts differ .* \['video7010'\]"):
        read_multi_msrvtt(root)


def test_missing_test_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="test_en.json: Multi-MSRVTT test file not found"):
        read_multi_msrvtt(tmp_path)


def test_train_files_get_a_carved_val(fixture_copy):
    root = fixture_copy("multi_msrvtt")
    for lang in MULTI_MSRVTT:
        (root / f"train_{lang}.json").write_text(json.dumps({f"video{i}.mp4": [f"{lang} {i}"] for i in range(5)}))
    ds = read_multi_msrvtt(root, val_size=2)
    assert ds.summary()["videos"] == {"train": 3, "val": 2, "test": 3}
    assert "carved" in ds.meta["val"]


def test_empty_caption_warns(fixture_copy):
    root = fixture_copy("multi_msrvtt")
    d = json.loads((root / "test_vi.json").read_text())
    d["video7030.mp4"] = [""]
    (root / "test_vi.json").write_text(json.dumps(d, ensure_ascii=False))
    with pytest.warns(UserWarning, match=r"video7030#vi#0 \(test_vi.json\)"):
        ds = read_multi_msrvtt(root)
    assert len(ds.captions) == 9 * 3 - 1
