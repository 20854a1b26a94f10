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
