"""Failure analysis against hand-computed rankings on tiny worlds."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mvkit.analysis import failures as F
from mvkit.data.records import CaptionRecord, VideoRecord


def _videos():
    attrs = [
        {"color": "red", "shape": "circle", "motion": "left"},
        {"color": "blue", "shape": "circle", "motion": "left"},
        {"color": "red", "shape": "square", "motion": "up"},
    ]
    return [VideoRecord(f"v{i}", f"videos/v{i}.mp4", "test", attributes=a) for i, a in enumerate(attrs)]


def _captions():
    return [
        CaptionRecord("c0", "v0", "en", "a red circle moves left", attributes={"color": "red", "shape": "circle"}),
        CaptionRecord("c1", "v1", "en", "a blue circle moves left", attributes={"color": "blue", "motion": "left"}),
        CaptionRecord("c2", "v2", "en", "a red square moves up", attributes={"shape": "square"}),
        CaptionRecord("c3", "v0", "de", "ein roter Kreis", kind="machine-translated", source_id="c0",
                      attributes={"color": "red", "shape": "circle"}),
        CaptionRecord("c4", "v1", "de", "ein blauer Kreis", kind="machine-translated", source_id="c1",
                      attributes={"color": "blue"}),
        CaptionRecord("c5", "v2", "de", "ein Quadrat", kind="human", attributes={"shape": "square"}),
    ]


# rows: captions c0..c5; columns v0..v2
SIM = np.array([
    [0.9, 0.1, 0.2],   # c0 -> v0 rank 1
    [0.8, 0.5, 0.1],   # c1 -> v1 rank 2, wrong top-1 v0 (colour differs)
    [0.3, 0.3, 0.3],   # c2 -> v2 three-way tie: pessimistic rank 3, wrong v0 (lower index)
    [0.2, 0.1, 0.6],   # c3 -> v0 rank 2, wrong v2 (shape differs) + MT noise
    [0.1, 0.7, 0.0],   # c4 -> v1 rank 1
    [0.5, 0.4, 0.45],  # c5 -> v2 rank 2, wrong v0 (shape differs)
])


def fake_confused(caption, video):
    """Attributes the caption names that the video does not have (the contract's meaning)."""
    return [k for k, v in (caption.attributes or {}).items() if video.attributes.get(k) != v]


def test_top_k_order_and_ties():
    row = np.array([0.5, 0.9, 0.5, 0.1, 0.9])
    assert F.top_k(row, 3).tolist() == [1, 4, 0]
    assert F.top_k(row, 10).tolist() == [1, 4, 0, 2, 3]     # clipped to the gallery
    assert F.top_k(SIM, 2).tolist() == [[0, 2], [0, 1], [0, 1], [2, 0], [1, 0], [0, 2]]
    with pytest.raises(ValueError):
        F.top_k(row, 0)
    with pytest.raises(ValueError, match="NaN"):
        F.top_k(np.array([0.1, np.nan]), 1)


def test_true_ranks_pessimistic_and_multi_positive():
    cv = np.array([0, 1, 2, 0, 1, 2])
    assert F.true_ranks(SIM, cv).tolist() == [1, 2, 3, 2, 1, 2]
    # same answer from records
    assert F.true_ranks(SIM, captions=_captions(), videos=_videos()).tolist() == [1, 2, 3, 2, 1, 2]
    # two positives: the best one counts; ties with a negative still count against
    pos = np.array([[False, True, True]])
    assert F.true_ranks(np.array([[0.5, 0.2, 0.5]]), pos).tolist() == [2]
    with pytest.raises(ValueError, match="without any positive"):
        F.true_ranks(SIM[:1], np.zeros((1, 3), dtype=bool))


def test_true_ranks_match_a_loop_with_many_ties():
    """The gallery's ranks against a brute-force loop: negatives scoring at least the best positive."""
    rng = np.random.default_rng(0)
    sim = rng.integers(0, 4, size=(20, 7)).astype(float)   # many ties
    pos = np.zeros((20, 7), dtype=bool)
    pos[np.arange(20), rng.integers(0, 7, 20)] = True
    pos[::3, 0] = True
    want = [1 + sum(1 for j in range(7) if not pos[i, j] and sim[i, j] >= sim[i][pos[i]].max()) for i in range(20)]
    assert F.true_ranks(sim, pos).tolist() == want


def test_query_view():
    view = F.query_view(SIM, 2, k=2, captions=_captions(), videos=_videos())
    assert view.indices.tolist() == [0, 1]
    assert view.video_ids == ("v0", "v1")
    assert view.scores.tolist() == [0.3, 0.3]
    assert view.is_positive.tolist() == [False, False]
    assert view.true_rank == 3 and view.true_video_ids == ("v2",) and not view.hit
    assert view.text == "a red square moves up" and view.lang == "en"
    v1 = F.query_view(SIM, 1, k=2, caption_video=np.array([0, 1, 2, 0, 1, 2]))
    assert v1.is_positive.tolist() == [False, True] and v1.hit and v1.true_score == 0.5
    assert v1.video_ids is None
    with pytest.raises(IndexError):
        F.query_view(SIM, 6, caption_video=np.zeros(6, dtype=int))


def test_failure_table_and_groups():
    df = F.failure_table(SIM, _captions(), _videos(), confused_fn=fake_confused)
    assert df["caption_id"].tolist() == ["c1", "c2", "c3", "c5"]
    assert df["rank"].tolist() == [2, 3, 2, 2]
    assert df["wrong_video_id"].tolist() == ["v0", "v0", "v2", "v0"]
    assert df["confused"].tolist() == [["color"], ["shape"], ["shape"], ["shape"]]
    assert df["translated"].tolist() == [False, False, True, False]
    assert df.loc[0, "wrong_score"] == 0.8 and df.loc[0, "true_score"] == 0.5
    # with k=2 only the three-way tie (rank 3) fails
    assert F.failure_table(SIM, _captions(), _videos(), k=2, confused_fn=fake_confused)["caption_id"].tolist() == ["c2"]

    marked = F.failure_table(SIM, _captions(), _videos(), confused_fn=fake_confused, mark_translations=True)
    assert marked["confused"].tolist() == [["color"], ["shape"], ["shape", "language_noise"], ["shape"]]
    groups = F.group_failures(marked)
    assert groups.index.tolist() == ["shape", "color", "language_noise"]
    assert groups.loc["shape"].to_dict() == {"de": 2, "en": 1, "total": 3}
    assert groups.loc["color"].to_dict() == {"de": 0, "en": 1, "total": 1}
    assert groups.loc["language_noise", "de"] == 1


def test_failure_table_indistinguishable_and_semantic_positives():
    caps = [CaptionRecord("c0", "v0", "en", "a circle", attributes={"shape": "circle"})]
    vids = _videos()[:2]
    sim = np.array([[0.1, 0.9]])
    df = F.failure_table(sim, caps, vids, confused_fn=fake_confused)
    assert df["confused"].tolist() == [["indistinguishable"]]
    # counting the look-alike clip as a positive removes the failure
    none = F.failure_table(sim, caps, vids, positives=np.array([[True, True]]), confused_fn=fake_confused)
    assert none.empty and "confused" in none.columns
    assert F.group_failures(none).empty
    # a translation that says nothing distinguishing: the noise is blamed, and only once
    mt = [CaptionRecord("c0", "v0", "de", "ein Kreis", kind="machine-translated", source_id="x",
                        attributes={"shape": "circle"})]
    assert F.failure_table(sim, mt, vids, confused_fn=fake_confused)["confused"].tolist() == [["language_noise"]]
    noisy = F.failure_table(sim, mt, vids, confused_fn=lambda c, v: ["color", "language_noise", "color"],
                            mark_translations=True)
    assert noisy["confused"].tolist() == [["color", "language_noise"]]


def test_failure_table_default_confused_fn_runs():
    df = F.failure_table(SIM, _captions(), _videos())
    assert len(df) == 4 and all(isinstance(c, list) and c for c in df["confused"])


def test_cross_language_pairs_and_groups():
    caps = _captions()
    pairs = F.cross_language_pairs(caps)
    got = {(r.query, r.other_lang): (r.other, r.link) for r in pairs.itertuples()}
    assert got[(0, "de")] == (3, "translation")
    assert got[(3, "en")] == (0, "translation")
    assert got[(2, "de")] == (5, "same_video")      # c5 is an independent German caption of v2
    assert got[(5, "en")] == (2, "same_video")
    assert len(pairs) == 6
    assert F.translation_groups(caps) == [[0, 3], [1, 4]]
    assert F.counterpart(caps, 1, "de") == 4 and F.counterpart(caps, 1, "en") == 1
    assert F.counterpart(caps, 1, "fr") is None
    for r in pairs.itertuples():                       # the single lookup agrees with the table
        assert F.counterpart(caps, r.query, r.other_lang) == r.other
    # chains: a back-translation of a translation joins the original's group
    chain = caps + [CaptionRecord("c6", "v0", "en", "a red ring", kind="back-translated", source_id="c3")]
    assert [0, 3, 6] in F.translation_groups(chain)


def test_compare_models():
    cv = np.array([0, 1, 2, 0, 1, 2])
    sim_b = SIM.copy()
    sim_b[1] = [0.1, 0.9, 0.0]      # B fixes c1
    sim_b[0] = [0.1, 0.9, 0.0]      # B breaks c0
    df = F.compare_models(SIM, sim_b, cv, names=("base", "xl"))
    assert df["winner"].tolist() == ["base", "xl", "neither", "neither", "both", "neither"]
    assert df["rank_b"].tolist()[:2] == [2, 1]
    df2 = F.compare_models(SIM, sim_b, captions=_captions(), videos=_videos(), k=2, names=("base", "xl"))
    assert df2.loc[3, "winner"] == "both" and df2.loc[3, "lang"] == "de"
    wins = F.win_counts(df2)
    assert wins.loc["en"].sum() == 3 and wins.loc["de", "both"] == 3
    with pytest.raises(ValueError):
        F.compare_models(SIM, SIM[:2], cv)
    with pytest.raises(ValueError):
        F.compare_models(SIM, SIM, cv, names=("a", "a"))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="unknown|not in the gallery"):
        F.positives_matrix(captions=[CaptionRecord("c", "vX", "en", "t")], videos=_videos())
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.positives_matrix(np.array([3]), 3)
    with pytest.raises(ValueError, match="does not match"):
        F.failure_table(SIM[:2], _captions(), _videos(), confused_fn=fake_confused)
    assert isinstance(F.failure_table(SIM[[0, 4]], [_captions()[0], _captions()[4]], _videos()), pd.DataFrame)


def test_similarity_dtypes():
    import torch

    assert F.as_similarity(np.ones((2, 3), dtype=np.float32)).dtype == np.float32   # not doubled
    assert F.as_similarity(torch.ones(2, 3, dtype=torch.bfloat16)).dtype == np.float32
    assert F.as_similarity(torch.ones(2, 3, dtype=torch.float64)).dtype == np.float64
    assert F.as_similarity([[1, 2]]).dtype == np.float64
    assert F.as_similarity(np.arange(3.0)).shape == (1, 3)
    with pytest.raises(ValueError, match="shape"):
        F.as_similarity(np.ones((2, 2, 2)))


def test_query_view_reads_only_its_row():
    rng = np.random.default_rng(3)
    sim = rng.integers(0, 4, (30, 12)).astype(np.float32)       # many exact ties
    cv = rng.integers(0, 12, 30)
    full = F.true_ranks(sim, cv)                             # all rows at once
    for q in range(30):
        v = F.query_view(sim, q, k=4, caption_video=cv)
        order = sorted(range(12), key=lambda j: (-sim[q, j], j))   # brute-force top-k, ties to lower index
        assert v.indices.tolist() == order[:4] and v.true_rank == full[q]
        assert v.true_indices.tolist() == [cv[q]]
    mask = np.zeros((30, 12), dtype=bool)
    mask[np.arange(30), cv] = True
    mask[5, 0] = True                                            # a second positive for query 5
    assert F.query_view(sim, 5, caption_video=mask).true_indices.tolist() == sorted({0, int(cv[5])})
    bad = sim.copy()
    bad[7, 3] = np.nan                                           # another row's NaN is not this view's
    assert F.query_view(bad, 2, caption_video=cv).true_rank == full[2]
    with pytest.raises(ValueError, match="NaN"):
        F.query_view(bad, 7, caption_video=cv)
