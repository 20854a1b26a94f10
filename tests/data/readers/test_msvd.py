import pickle
from pathlib import Path

import pytest

from mvkit.data.pickles import PickleNotAllowedError
from mvkit.data.readers.msvd import read_msvd

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "msvd"


def test_all_video_descriptions():
    ds = read_msvd(ROOT)
    assert ds.summary()["videos"] == {"train": 3, "val": 1, "test": 2}
    caps = [c for c in ds.captions if c.video_id == "-4wsuPCjDBc_5_15"]
    assert [(c.caption_id, c.text) for c in caps] == [("-4wsuPCjDBc_5_15#0", "a squirrel is eating a peanut"),
                                                      ("-4wsuPCjDBc_5_15#1", "a chipmunk eats")]
    assert len(ds.captions) == 8   # the two '#' header lines are not captions
    assert ds.videos[0].path.startswith("YouTubeClips/") and ds.videos[0].path.endswith(".avi")


def _raw_captions(root):
    data = {"-4wsuPCjDBc_5_15": [["a", "squirrel", "eats"], ["a", "chipmunk", "eats"]],
            "-9CUm-2cui8_39_44": [["a", "cat", "jumps"]]}
    with open(root / "raw-captions.pkl", "wb") as fh:
        pickle.dump(data, fh)
    (root / "AllVideoDescriptions.txt").unlink()


def test_raw_captions_pickle_needs_opt_in(fixture_copy):
    root = fixture_copy("msvd")
    _raw_captions(root)
    with pytest.raises(PickleNotAllowedError, match=r"raw-captions.pkl: this is a Python pickle.*allow_pickle=True"):
        read_msvd(root)
    with pytest.warns(UserWarning, match="4 clip\\(s\\) in the split lists have no caption"):
        ds = read_msvd(root, allow_pickle=True)
    assert {c.caption_id: c.text for c in ds.captions} == {
        "-4wsuPCjDBc_5_15#0": "a squirrel eats", "-4wsuPCjDBc_5_15#1": "a chipmunk eats",
        "-9CUm-2cui8_39_44#0": "a cat jumps"}


def test_caption_for_clip_in_no_list(fixture_copy):
    root = fixture_copy("msvd")
    p = root / "AllVideoDescriptions.txt"
    p.write_text(p.read_text() + "zzz_1_2 a stray caption\n")
    with pytest.raises(ValueError, match=r"AllVideoDescriptions.txt: captions for clips in no split list: \['zzz_1_2'\]"):
        read_msvd(root)


def test_clip_in_two_lists_and_missing_list(fixture_copy):
    root = fixture_copy("msvd")
    p = root / "test_list.txt"
    p.write_text(p.read_text() + "-4wsuPCjDBc_5_15\n")
    with pytest.raises(ValueError, match=r"test_list.txt:3: clip '-4wsuPCjDBc_5_15' is already in train_list.txt line 1"):
        read_msvd(root)
    p.unlink()
    with pytest.raises(FileNotFoundError, match="test_list.txt: test list not found"):
        read_msvd(root)


def test_invalid_utf8_names_line(fixture_copy):
    root = fixture_copy("msvd")
    p = root / "AllVideoDescriptions.txt"
    p.write_bytes(p.read_bytes() + b"-9CUm-2cui8_39_44 caf\xe9\n")
    with pytest.raises(ValueError, match=r"AllVideoDescriptions.txt:11: not valid UTF-8"):
        read_msvd(root)


# ---- MSVD-CN, pickles by either suffix, language from the caller -----------------------------
CLIPS = ["-4wsuPCjDBc_5_15", "-7KMZQEsJW4_205_208", "-8y1Q0rA3n8_108_115",
         "-8y1Q0rA3n8_95_102", "-9CUm-2cui8_39_44", "-AwoiGR6c8M_10_14"]


def _msvd_cn(root, tsv=False):
    """MSVD-CN as released: vidN ids in the captions, YouTube names in the lists, a mapping between."""
    for name in ("AllVideoDescriptions.txt",):
        (root / name).unlink()
    (root / "youtube_mapping.txt").write_text("".join(f"{c} vid{i + 1}\n" for i, c in enumerate(CLIPS)))
    rows = [("1", "vid1.mp4", "一只松鼠在吃花生"), ("2", "vid3.mp4", "一个男人在弹吉他"), ("4", "vid1.mp4", "花栗鼠在吃东西"),
            ("5", "vid6.mp4", "一个女人在切西红柿")]
    if tsv:
        (root / "msvd_cn_captions_release_utf8.tsv").write_text("".join("\t".join(r) + "\n" for r in rows))
    else:
        (root / "msvd_cn_captions_release_utf8.csv").write_text(
            "id,video_id,sentence\n" + "".join(",".join(r) + "\n" for r in rows))


def test_msvd_cn_csv_through_its_manifest(fixture_copy):
    import mvkit.data
    root = fixture_copy("msvd")
    _msvd_cn(root)
    with pytest.warns(UserWarning, match=r"3 clip\(s\) in the split lists have no caption"):
        ds = mvkit.data.load("msvd_cn", root=root, check_counts=False)
    assert ds.name == "msvd-zh" and ds.languages == ["zh"] and ds.meta["captions"] == "msvd_cn_captions_release_utf8.csv"
    c = next(c for c in ds.captions if c.caption_id == "-4wsuPCjDBc_5_15#4")   # csv line 4: 4,vid1.mp4,花栗鼠在吃东西
    assert (c.video_id, c.lang, c.text, c.kind, c.source_id) == ("-4wsuPCjDBc_5_15", "zh", "花栗鼠在吃东西", "human", None)
    assert {c.video_id for c in ds.captions} == {CLIPS[0], CLIPS[2], CLIPS[5]}
    assert ds.summary()["videos"] == {"train": 3, "val": 1, "test": 2}


def test_msvd_cn_tsv_and_bad_rows(fixture_copy):
    root = fixture_copy("msvd")
    _msvd_cn(root, tsv=True)
    ds = read_msvd(root, captions="msvd_cn_captions_release_utf8.tsv", lang="zh")
    assert sorted(c.caption_id for c in ds.captions) == sorted(
        ["-4wsuPCjDBc_5_15#1", "-4wsuPCjDBc_5_15#4", "-8y1Q0rA3n8_108_115#2", "-AwoiGR6c8M_10_14#5"])
    (root / "msvd_cn_captions_release_utf8.tsv").write_text("1\tvid1.mp4\n")
    with pytest.raises(ValueError, match=r"msvd_cn_captions_release_utf8.tsv:1: expected 3 columns"):
        read_msvd(root, captions="msvd_cn_captions_release_utf8.tsv", lang="zh")
    (root / "msvd_cn_captions_release_utf8.tsv").write_text("1\tvid99.mp4\t一只猫\n")
    with pytest.raises(ValueError, match=r"video ids not in youtube_mapping.txt: \['vid99'\]"):
        read_msvd(root, captions="msvd_cn_captions_release_utf8.tsv", lang="zh")


def test_the_language_comes_from_the_caller_and_a_wrong_one_is_flagged(fixture_copy):
    root = fixture_copy("msvd")
    _msvd_cn(root)
    with pytest.warns(UserWarning, match=r"4 caption\(s\) are not written in the script of their declared language "
                                         r"\(\{'en -> CJK': 4\}"):
        ds = read_msvd(root, captions="msvd_cn_captions_release_utf8.csv")   # lang defaults to en: wrong here
    assert ds.languages == ["en"]


def test_pickle_by_either_suffix_needs_the_opt_in_and_never_reads_as_text(fixture_copy):
    root = fixture_copy("msvd")
    data = {"-4wsuPCjDBc_5_15": [["a", "squirrel", "eats"]], "-9CUm-2cui8_39_44": [["a", "cat", "jumps"]]}
    with open(root / "raw-captions.pickle", "wb") as fh:
        pickle.dump(data, fh)
    with pytest.raises(PickleNotAllowedError, match=r"raw-captions.pickle: this is a Python pickle"):
        read_msvd(root, captions="raw-captions.pickle")
    assert {c.text for c in read_msvd(root, captions="raw-captions.pickle", allow_pickle=True).captions} == {
        "a squirrel eats", "a cat jumps"}
    (root / "raw-captions.txt").write_bytes((root / "raw-captions.pickle").read_bytes())   # a pickle named .txt
    with pytest.raises(PickleNotAllowedError, match=r"raw-captions.txt: this is a Python pickle"):
        read_msvd(root, captions="raw-captions.txt")


def test_a_test_list_alone_is_an_evaluation_release(fixture_copy):
    root = fixture_copy("msvd")
    (root / "train_list.txt").unlink()
    (root / "val_list.txt").unlink()
    with pytest.warns(UserWarning, match=r"4 clip\(s\) are in none of the split lists present \(test_list.txt\)"):
        ds = read_msvd(root)
    assert ds.summary()["videos"] == {"test": 2} and ds.meta["splits"] == ["test"]
    for name in ("test_list.txt",):
        (root / name).unlink()
    with pytest.raises(FileNotFoundError, match="no split list"):
        read_msvd(root)
