import pickle

import numpy as np
import pytest

from mvkit.data.pickles import PickleNotAllowedError
from mvkit.data.readers.youcook import FILES, read_multi_youcook2

LANGS_RELEASE = ["de", "fr", "cz", "zh", "ru", "vi", "es", "en", "ja"]   # as C2KD keys them


def _clip(cid, text):
    e = {"id": cid, "caption": text, "2d_full": np.zeros((2, 4), np.float32), "audio": np.zeros((4, 8))}
    e.update({f"caption_{l}": f"{l}: {text}" if l != "en" else text for l in LANGS_RELEASE})
    return e


def _write(root, train, test):
    for key, entries in (("train", train), ("test", test)):
        with open(root / FILES[key], "wb") as fh:
            pickle.dump(entries, fh)


@pytest.fixture
def yc(tmp_path):
    _write(tmp_path, [_clip(f"tr{i}", f"add salt {i}") for i in range(4)], [_clip("te0", "stir the soup")])
    return tmp_path


def test_pickle_refused_without_opt_in(yc):
    with pytest.raises(PickleNotAllowedError, match=r"youcook_train_audio_multilingual.pkl: .*can run arbitrary code"):
        read_multi_youcook2(yc)


def test_nine_languages_cz_mapped_to_cs(yc):
    ds = read_multi_youcook2(yc, allow_pickle=True, val_size=1)
    assert ds.languages == sorted(["de", "fr", "cs", "zh", "ru", "vi", "es", "en", "ja"])
    assert ds.summary()["videos"] == {"train": 3, "val": 1, "test": 1}
    cs = next(c for c in ds.captions if c.caption_id == "te0#cs")
    assert cs.text == "cz: stir the soup" and cs.kind == "machine-translated" and cs.source_id == "te0#en"
    assert next(c for c in ds.captions if c.caption_id == "te0#en").kind == "human"


def test_inconsistent_languages_between_clips(tmp_path):
    bad = _clip("tr9", "boil water")
    del bad["caption_ja"]
    _write(tmp_path, [_clip("tr0", "x"), bad], [_clip("te0", "y")])
    with pytest.raises(ValueError, match=r"entry \[1\] \(id 'tr9'\) has languages .* others have .*inconsistent"):
        read_multi_youcook2(tmp_path, allow_pickle=True, val_size=1)


def test_cz_and_cs_in_one_clip(tmp_path):
    bad = _clip("tr0", "x")
    bad["caption_cs"] = "also czech"
    _write(tmp_path, [bad, _clip("tr1", "z")], [_clip("te0", "y")])
    with pytest.raises(ValueError, match=r"entry \[0\] \(id 'tr0'\) has two keys for 'cs'"):
        read_multi_youcook2(tmp_path, allow_pickle=True, val_size=1)


def test_duplicate_clip_across_files(tmp_path):
    _write(tmp_path, [_clip("tr0", "x"), _clip("tr1", "z")], [_clip("tr0", "y")])
    with pytest.raises(ValueError, match=r"youcook_val_audio_multilingual.pkl: clip 'tr0' also appears in the train file"):
        read_multi_youcook2(tmp_path, allow_pickle=True, val_size=1)


def test_not_a_list_of_clips(tmp_path):
    _write(tmp_path, {"tr0": "x"}, [])
    with pytest.raises(ValueError, match="expected a list of dicts with 'id'"):
        read_multi_youcook2(tmp_path, allow_pickle=True)


def test_test_pickle_alone_by_either_suffix(tmp_path):
    with open(tmp_path / "youcook_val_audio_multilingual.pickle", "wb") as fh:
        pickle.dump([_clip("te0", "stir the soup"), _clip("te1", "cut the onion")], fh)
    files = {"train": "youcook_train_audio_multilingual.pickle", "test": "youcook_val_audio_multilingual.pickle"}
    with pytest.raises(PickleNotAllowedError, match="youcook_val_audio_multilingual.pickle"):
        read_multi_youcook2(tmp_path, files=files)
    ds = read_multi_youcook2(tmp_path, files=files, allow_pickle=True)
    assert ds.summary()["videos"] == {"test": 2} and ds.meta["val"].startswith("none: evaluation-only")
    c = next(c for c in ds.captions if c.caption_id == "te1#cs")
    assert (c.text, c.kind, c.source_id) == ("cz: cut the onion", "machine-translated", "te1#en")
