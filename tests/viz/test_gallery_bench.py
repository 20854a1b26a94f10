"""`mvkit bench gallery` on small galleries: its clicks really redraw, its views are right."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from mvkit import bench
from mvkit.bench import gallery_bench as gb
from mvkit.viz.widgets import FailureGallery


def test_random_gallery_is_consistent():
    inp = gb.random_gallery(300, n_langs=3, dim=16)
    assert len(inp.videos) == 300 and len(inp.captions) == 300           # 100 clips x 3 languages
    assert {c.lang for c in inp.captions} == {"en", "de", "fr"}
    assert all(s.shape == (300, 300) for s in inp.sims.values())
    de = next(c for c in inp.captions if c.lang == "de")
    assert de.source_id == "en0" and de.video_id == inp.videos[0].video_id
    assert inp.frames("r00007").shape == (3, 64, 64, 3)
    assert (inp.frames("r00007") == inp.frames("r00007")).all()       # same clip, same frames


def test_clicks_redraw_and_views_match_brute_force():
    inp = gb.random_gallery(200, n_langs=2, dim=8)
    res = gb.time_clicks(inp, as_html=True)
    assert [r["click"] for r in res["clicks"]][:2] == ["language", "query"]
    assert res["all_redrawn"] and all(r["seconds"] > 0 for r in res["clicks"])
    assert [r["rows_shown"] for r in res["clicks"]][3:5] == [2, 3]       # vs model, then vs language
    g = FailureGallery(inp.sims, inp.captions, inp.videos, inp.frames, k=5)
    sim = inp.sims["random-a"]
    for q in (0, 57, 150):
        view = g._view("random-a", q)
        order = sorted(range(200), key=lambda j: (-sim[q, j], j))
        true = [j for j, v in enumerate(inp.videos) if v.video_id == inp.captions[q].video_id]
        rank = 1 + sum(sim[q, j] >= sim[q, true[0]] for j in range(200) if j != true[0])
        assert view.indices.tolist() == order[:5] and view.true_rank == rank


def test_gallery_bench_is_registered():
    assert "gallery" in bench.BENCHES
    assert np.isclose(gb.TARGET_SECONDS, 0.5)
