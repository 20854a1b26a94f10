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
    with pytest.warns(UserWarning, match=r"10 caption\(s\) are not written in the script of their declared "
                                         r"language \(\{'ru -> Latin': 5, 'zh -> Latin': 5\}"):
        ds = read_multi_msrvtt(root, val_size=2)   # 'ru 0', 'zh 0': Latin text declared Russian, Chinese
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


# ---- C2KD's pickled bundle ---------------------------------------------------------------------
C2KD_LANGS = ["de", "fr", "cs", "zh", "ru", "vi", "sw", "es", "en"]
TEXT = {"en": "a man drives a car", "de": "ein Mann fährt ein Auto", "fr": "un homme conduit une voiture",
        "cs": "muž řídí auto", "zh": "一个男人在开车", "ru": "мужчина ведет машину", "vi": "một người đàn ông lái xe",
        "sw": "mwanamume anaendesha gari", "es": "un hombre conduce un coche"}


def write_c2kd(root, n_train=4, n_test=2):
    """msrvtt_{train,jsfusion_test}_multilingual.pkl as C2KD ships them (id, '2d', captions per language)."""
    import pickle

    import numpy as np
    rng = np.random.default_rng(0)
    train = [{"id": f"video{i}", "2d": rng.standard_normal((3 + i, 8)).astype(np.float32),
              **{f"caption_{l}": [f"{TEXT[l]} {k}" for k in range(2)] for l in C2KD_LANGS}} for i in range(n_train)]
    test = [{"id": f"video{7000 + i}", "2d": rng.standard_normal((4, 8)).astype(np.float32),
             **{f"eval_caption_{l}": TEXT[l] for l in C2KD_LANGS}} for i in range(n_test)]
    for name, data in (("msrvtt_train_multilingual.pkl", train), ("msrvtt_jsfusion_test_multilingual.pkl", test)):
        with open(root / name, "wb") as fh:
            pickle.dump(data, fh)
    return train, test


def test_c2kd_pickles_load_through_the_manifest_with_the_opt_in(tmp_path):
    import mvkit.data
    from mvkit.data.pickles import PickleNotAllowedError

    train, _ = write_c2kd(tmp_path)
    with pytest.raises(PickleNotAllowedError, match="msrvtt_train_multilingual.pkl: this is a Python pickle"):
        mvkit.data.load("multi_msrvtt", root=tmp_path, check_counts=False)
    ds = mvkit.data.load("multi_msrvtt", root=tmp_path, allow_pickle=True, val_size=1, check_counts=False)
    assert ds.meta["layout"] == "c2kd" and ds.meta["feature_keys"] == ["2d"]
    assert ds.summary()["videos"] == {"train": 3, "val": 1, "test": 2} and ds.languages == sorted(C2KD_LANGS)
    by_id = {c.caption_id: c for c in ds.captions}
    c = by_id["video2#ru#1"]                     # train entry [2], caption_ru[1]
    assert (c.video_id, c.lang, c.text, c.kind, c.source_id) == (
        "video2", "ru", train[2]["caption_ru"][1], "machine-translated", "video2#en#1")
    t = by_id["video7001#zh#0"]                  # test entry [1], eval_caption_zh
    assert (t.text, t.kind, t.source_id) == ("一个男人在开车", "machine-translated", "video7001#en#0")
    assert by_id["video7001#en#0"].kind == "human" and len(ds.subset("test").captions) == 2 * 9


def test_c2kd_test_pickle_alone_and_bad_entries(tmp_path):
    import pickle
    write_c2kd(tmp_path)
    (tmp_path / "msrvtt_train_multilingual.pkl").unlink()
    ds = read_multi_msrvtt(tmp_path, allow_pickle=True, langs=["en", "sw"])
    assert ds.summary()["videos"] == {"test": 2} and ds.meta["val"].startswith("none: evaluation-only")
    with open(tmp_path / "msrvtt_jsfusion_test_multilingual.pkl", "wb") as fh:
        pickle.dump([{"id": "video1", "eval_caption_en": "x", "eval_caption_de": ["a", "b"]}], fh)
    with pytest.raises(ValueError, match=r"entry \[0\] \(id 'video1'\) has different caption counts per language"):
        read_multi_msrvtt(tmp_path, allow_pickle=True)


def test_c2kd_frame_features_go_into_a_store(tmp_path):
    import numpy as np

    from mvkit.features.imports import import_c2kd_features
    train, test = write_c2kd(tmp_path)
    pkls = [tmp_path / "msrvtt_train_multilingual.pkl", tmp_path / "msrvtt_jsfusion_test_multilingual.pkl"]
    store = import_c2kd_features(pkls, tmp_path / "store", allow_pickle=True, videos_per_shard=4, progress=False)
    assert store.dims == {"appearance": 8} and len(store.video_ids) == 6 and not store.skipped
    np.testing.assert_array_equal(store.frames("video3"), train[3]["2d"])
    np.testing.assert_array_equal(store.frames("video7001"), test[1]["2d"])
    files = store.provenance["encoder_provenance"]["imported"]["appearance"]["files"]
    assert {len(v["sha256"]) for v in files.values()} == {64}
    with pytest.raises(ValueError, match=r"entry \[0\] \(id 'video0'\) has no \[T, D\] array under '3d'"):
        import_c2kd_features(pkls[:1], tmp_path / "s2", streams={"3d": "motion"}, allow_pickle=True)
