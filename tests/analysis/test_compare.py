"""Per-language comparison tables against hand-computed ranks, and the map/gallery helpers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mvkit.analysis import compare as C
from mvkit.analysis.run_ranks import Ranks, write_ranks
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord
from mvkit.notebook.tables import format_language_table


def _run(tmp_path, name, ranks):
    """A run directory holding only ranks.json: 4 en queries then 3 de queries."""
    ids = [f"v{i}#en#0" for i in range(4)] + [f"v{i}#de#0" for i in range(3)]
    langs = ["en"] * 4 + ["de"] * 3
    d = tmp_path / name
    d.mkdir()
    write_ranks(d / "ranks.json", Ranks(ids, langs, np.asarray(ranks)))
    return d


@pytest.fixture
def runs(tmp_path):
    return {
        "base": _run(tmp_path, "base", [1, 2, 1, 3, 2, 2, 1]),    # en R1 50, de R1 33.3
        "better": _run(tmp_path, "better", [1, 1, 1, 3, 1, 1, 1]),  # en 75, de 100
    }


def test_language_results_values_and_pairing(runs):
    df = C.language_results(runs, "base", ["en", "de"], pooled={"all": ["en", "de"]}, n_boot=300)
    row = df.set_index(["variant", "language"])
    assert row.loc[("base", "en"), "R1"] == pytest.approx(50.0)
    assert row.loc[("base", "de"), "R1"] == pytest.approx(100 / 3)
    assert row.loc[("better", "de"), "R1"] == pytest.approx(100.0)
    assert row.loc[("better", "all"), "R1"] == pytest.approx(600 / 7)
    assert row.loc[("better", "en"), "diff"] == pytest.approx(25.0)
    assert row.loc[("better", "de"), "diff"] == pytest.approx(200 / 3)
    assert row.loc[("better", "all"), "n_queries"] == 7
    assert np.isnan(row.loc[("base", "en"), "diff"]) and np.isnan(row.loc[("base", "de"), "p"])
    # intervals bracket their estimate; a one-sided improvement never has a negative bound
    assert (df["R1_low"] <= df["R1"]).all() and (df["R1"] <= df["R1_high"]).all()
    assert row.loc[("better", "de"), "diff_low"] >= 0
    assert 0 < row.loc[("better", "en"), "p"] <= 1


def test_language_results_errors(runs, tmp_path):
    with pytest.raises(ValueError, match="baseline"):
        C.language_results(runs, "nope", ["en"])
    with pytest.raises(ValueError, match="no test queries"):
        C.language_results(runs, "base", ["fr"])
    other = tmp_path / "other"
    other.mkdir()
    write_ranks(other / "ranks.json", Ranks(["x#en#0"], ["en"], np.array([1])))
    with pytest.raises(ValueError, match="different"):
        C.language_results({**runs, "other": other}, "base", ["en"])


def test_sweep_results_pairs_within_condition(tmp_path):
    runs = {("infonce", 0.1): _run(tmp_path, "i1", [1, 1, 1, 1, 1, 1, 1]),
            ("infonce", 0.6): _run(tmp_path, "i6", [2, 2, 2, 2, 2, 2, 1]),
            ("robust", 0.6): _run(tmp_path, "r6", [1, 1, 2, 2, 2, 2, 1]),
            ("robust", 0.1): _run(tmp_path, "r1", [1, 1, 1, 1, 1, 1, 1])}
    df = C.sweep_results(runs, "infonce", ["en", "de"], condition="noise", n_boot=200)
    assert list(zip(df["method"], df["noise"])) == [("infonce", 0.1), ("infonce", 0.6), ("robust", 0.1), ("robust", 0.6)]
    r = df.set_index(["method", "noise"])
    assert r.loc[("infonce", 0.6), "R1"] == pytest.approx(100 / 7)
    assert r.loc[("robust", 0.6), "diff"] == pytest.approx(200 / 7)     # paired at 0.6, not at 0.1
    assert r.loc[("robust", 0.1), "diff"] == pytest.approx(0.0)
    assert np.isnan(r.loc[("infonce", 0.1), "diff"])
    empty = C.sweep_results({}, "infonce", ["en"], condition="noise")
    assert empty.empty and "noise" in empty.columns
    assert format_language_table(empty, "R1", "diff", index="noise", columns="method").empty
    with pytest.raises(ValueError, match="no 'infonce' run"):
        C.sweep_results({("robust", 0.3): runs[("robust", 0.1)]}, "infonce", ["en"])


def test_format_language_table(runs):
    df = C.language_results(runs, "base", ["en", "de"], n_boot=200)
    val = format_language_table(df, "R1")
    assert list(val.columns) == ["base", "better"] and list(val.index) == ["en", "de"]
    assert val.loc["en", "base"].startswith("50.0 [")
    diff = format_language_table(df, "R1", what="diff")
    assert list(diff.columns) == ["better"]
    de = df[(df.variant == "better") & (df.language == "de")].iloc[0]
    assert diff.loc["de", "better"].startswith("+66.7 [")
    assert diff.loc["de", "better"].endswith(" *") == (de["p"] < 0.05)
    with pytest.raises(ValueError):
        format_language_table(df, what="ratio")


def test_examples_by_attribute_clean_cases_first():
    fails = pd.DataFrame({"query": [0, 1, 2, 3, 4], "rank": [5, 2, 2, 9, 3],
                          "confused": [["color"], ["color", "motion"], ["color"], ["language_noise"], ["color"]]})
    ex = C.examples_by_attribute(fails, ["color", "motion", "sound", "language_noise"])
    assert list(ex) == ["color", "motion", "language_noise"]           # no sound failure
    assert ex["color"]["query"].tolist() == [2]          # only colour confused, nearest miss (rank 2)
    assert ex["motion"]["query"].tolist() == [1]
    assert C.examples_by_attribute(fails, ["color"], per=4)["color"]["query"].tolist() == [2, 4, 0, 1]
    # a query shown for an earlier attribute comes last for the next one
    again = C.examples_by_attribute(fails, ["color", "color"], per=1)
    assert again["color"]["query"].tolist() == [4]
    assert "_n" not in ex["color"].columns


def test_pick_query():
    wins = pd.DataFrame({"query": [0, 1, 2, 3, 4], "lang": ["en", "de", "de", "hi", "de"],
                         "rank_a": [3, 7, 2, 2, 1], "rank_b": [1, 1, 1, 1, 1],
                         "winner": ["B", "B", "B", "B", "both"]})
    assert C.pick_query(wins, "B", ("A", "B"), exclude_langs=["en"]) == 2    # A's nearest miss, lowest index
    assert C.pick_query(wins, "B", ("A", "B")) == 2
    assert C.pick_query(wins, "A", ("A", "B"), exclude_langs=["en"]) == 1   # nobody: first query
    with pytest.raises(ValueError):
        C.pick_query(wins, "C", ("A", "B"))


def test_map_subset_links_and_states():
    cv = [0, 0, 1, 1, 2, 0]
    langs = ["en", "de", "en", "hi", "en", "de"]
    vrows, crows = C.map_subset(cv, langs, ["en", "de"], max_videos=2)
    assert vrows.tolist() == [0, 1] and crows.tolist() == [0, 1, 2, 5]
    assert C.link_by_video([0, 0, 1, 1, 2, 0], langs) == [[0, 1], [2, 3]]   # first caption per language
    t, v = np.arange(12.0).reshape(6, 2), np.arange(6.0).reshape(3, 2)
    st = C.map_states({"m": (t, v)}, cv, langs, ["en", "de"], 2)["m"]
    assert st["video_emb"].shape == (2, 2) and st["text_emb"].tolist() == t[[0, 1, 2, 5]].tolist()
    assert st["caption_video"].tolist() == [0, 0, 1, 0] and st["translation_groups"] == [[0, 1]]
    with pytest.raises(ValueError, match="no captions"):
        C.map_states({"m": (t, v)}, cv, langs, ["zh"], 2)


def test_language_gap_to_hand_case():
    t = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    gaps = C.language_gap_to({"a": t}, ["en", "en", "de", "hi"])
    assert gaps.loc["de", "a"] == pytest.approx(np.sqrt(2))
    assert gaps.loc["hi", "a"] == pytest.approx(np.hypot(0.4, 0.8))
    assert "en" not in gaps.index


class _Store:
    """Two videos (two frames each, one padded), text features in one space."""
    def __init__(self):
        self.video_ids, self.dims, self.skipped = ["v0", "v1"], {"appearance": 2}, {}

    def stacked(self, ids, stream):
        arr = {"v0": [[1.0, 0.0], [3.0, 0.0]], "v1": [[0.0, 2.0], [9.0, 9.0]]}
        mask = {"v0": [True, True], "v1": [True, False]}
        return np.array([arr[i] for i in ids]), np.array([mask[i] for i in ids])

    def text_features(self, lang):
        return ["v0#en#0", "v1#en#0"], np.array([[1.0, 1.0], [0.0, 1.0]], dtype=np.float32)


def test_frozen_features_mean_of_valid_frames():
    ds = RetrievalDataset("t", ".", [VideoRecord("v0", "a.mp4", "test"), VideoRecord("v1", "b.mp4", "test")],
                          [CaptionRecord("v0#en#0", "v0", "en", "x"), CaptionRecord("v1#en#0", "v1", "en", "y")])
    text, video, cv, caps = C.frozen_features(ds, _Store(), "test", ["en"])
    assert video.tolist() == [[2.0, 0.0], [0.0, 2.0]]          # padded frame ignored
    assert text.tolist() == [[1.0, 1.0], [0.0, 1.0]] and cv.tolist() == [0, 1]
    assert [c.caption_id for c in caps] == ["v0#en#0", "v1#en#0"]
