"""The widget gallery's callbacks, driven by setting widget values (no browser)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import re

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from mvkit.data.records import CaptionRecord, VideoRecord
from mvkit.viz.widgets import NONE, FailureGallery

VIDEOS = [VideoRecord(f"v{i}", None, "test") for i in range(3)]
CAPTIONS = [
    CaptionRecord("e0", "v0", "en", "red circle"),
    CaptionRecord("e1", "v1", "en", "blue square"),
    CaptionRecord("e2", "v2", "en", "green star"),
    CaptionRecord("d0", "v0", "de", "roter Kreis", kind="machine-translated", source_id="e0"),
    CaptionRecord("d1", "v1", "de", "blaues Quadrat", kind="machine-translated", source_id="e1"),
]
BASE = np.array([
    [0.1, 0.9, 0.5],   # e0 fails (rank 3)
    [0.0, 0.8, 0.1],   # e1 ok
    [0.9, 0.0, 0.2],   # e2 fails (rank 2)
    [0.7, 0.2, 0.1],   # d0 ok
    [0.6, 0.5, 0.0],   # d1 fails (rank 2)
])
GOOD = np.eye(3)[[0, 1, 2, 0, 1]] + 0.01


def _frames(vid: str) -> np.ndarray:
    return np.full((2, 4, 4, 3), 10 * int(vid[1:]), dtype=np.uint8)


def _gallery(**kw):
    return FailureGallery({"base": BASE, "good": GOOD}, CAPTIONS, VIDEOS, _frames, k=2, **kw)


def test_initial_state_lists_failures_of_first_language():
    g = _gallery(as_html=False)
    assert g.language.value == "de" and g.model.value == "base"
    assert [i for _, i in g.query.options] == [4]
    assert g.query.options[0][0].startswith("d1 (rank 2)")
    assert list(g.last_views) == ["base"]
    assert g.last_figure is not None and len(g.last_figure.axes) == 2    # truth within the 2 tiles
    g.language.value = "en"
    assert len(g.last_figure.axes) == 3                                   # e0: 2 tiles + missed truth


def test_callbacks_filter_and_compare():
    g = _gallery(as_html=False)
    g.language.value = "en"                       # handler refills the query list
    assert [i for _, i in g.query.options] == [0, 2]
    assert g.query.value == 0
    g.failures_only.value = False
    assert [i for _, i in g.query.options] == [0, 1, 2]
    assert g.query.value == 0                    # a still-valid selection is kept
    g.model.value = "good"
    g.failures_only.value = True
    assert g.query.options == () and g.last_views == {} and g.last_figure is None
    assert "no query matches" in g.view.value

    g.model.value = "base"
    g.query.value = 2
    g.compare_model.value = "good"
    assert list(g.last_views) == ["base", "good"]
    assert g.last_views["good"].true_rank == 1 and g.last_views["base"].true_rank == 2
    assert len(g.last_figure.subfigs) == 2

    g.other_language.value = "de"                # e2 has no German counterpart: no extra row
    assert list(g.last_views) == ["base", "good"]
    g.query.value = 0                            # e0's translation is d0
    assert list(g.last_views) == ["base", "good", "base, de"]
    assert g.last_views["base, de"].caption_id == "d0" and g.last_views["base, de"].true_rank == 1
    assert len(g.last_figure.subfigs) == 3


def test_pure_views_html_and_errors():
    g = _gallery(failures_only=False)
    assert g.last_figure is None                 # HTML mode (the default) draws no figure
    views = g.views(1)
    assert views["base"].indices.tolist() == [1, 2] and views["base"].hit
    assert g.html(1).count("<img") == 2
    fig = g.figure(1)
    assert len(fig.axes) == 2
    g.compare_model.value = NONE
    with pytest.raises(ValueError, match="do not match"):
        FailureGallery({"x": BASE[:2]}, CAPTIONS, VIDEOS, _frames)
    with pytest.raises(ValueError, match="at least one"):
        FailureGallery({}, CAPTIONS, VIDEOS, _frames)


def test_html_view_shows_the_selection_and_encodes_each_clip_once():
    calls: list[str] = []

    def frames(vid):
        calls.append(vid)
        return _frames(vid)

    g = FailureGallery({"base": BASE, "good": GOOD}, CAPTIONS, VIDEOS, frames, k=2)
    # de, failures only: d1 (true v1 ranked 2nd behind v0) -> tiles v0, v1
    assert re.findall(r'data-video-id="(v\d)"', g.view.value) == ["v0", "v1"]
    assert 'data-caption-id="d1"' in g.view.value and "blaues Quadrat" in g.view.value
    assert 'data-row="base"' in g.view.value
    g.language.value = "en"                      # e0: v1, v2 retrieved, true v0 appended
    assert re.findall(r'data-video-id="(v\d)"', g.view.value) == ["v1", "v2", "v0"]
    assert "red circle" in g.view.value and "blaues" not in g.view.value
    g.compare_model.value = "good"               # a second row for the second model
    assert g.view.value.count('class="mvkit-query"') == 2 and 'data-row="good"' in g.view.value
    g.language.value = "de"
    g.language.value = "en"
    assert sorted(calls) == ["v0", "v1", "v2"]   # each clip decoded and encoded once
    assert len(g.thumbnails) == 3 and g.html() == g.view.value


def test_displayed_gallery_carries_a_static_snapshot():
    g = _gallery()
    bundle = g._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"] == g.view.value and 'class="mvkit-query"' in bundle["text/html"]
    fig_mode = _gallery(as_html=False)
    assert fig_mode.view.value.startswith('<img class="mvkit-gallery-figure" src="data:image/png;base64,')
