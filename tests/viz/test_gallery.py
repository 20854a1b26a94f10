"""Static galleries: tiles, borders, labels and HTML carry exactly what the view says."""
from __future__ import annotations

import base64
import io
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mvkit.analysis.failures import query_view
from mvkit.data.records import CaptionRecord, VideoRecord
from mvkit.viz import gallery as G

VIDEOS = [VideoRecord(f"v{i}", None, "test") for i in range(4)]
CAPTIONS = [
    CaptionRecord("c0", "v0", "en", "a red <b>circle</b> moves left"),
    CaptionRecord("c1", "v0", "hi", "\u0932\u093e\u0932 \u0917\u094b\u0932\u093e", kind="machine-translated",
                  source_id="c0"),
]
SIM = np.array([[0.2, 0.9, 0.5, 0.1],     # c0: true v0 at rank 3
                [0.8, 0.1, 0.3, 0.0]])    # c1: true v0 at rank 1


def _frames() -> dict[str, np.ndarray]:
    # clip i is a solid colour i*40 with 5 frames of 6x6 pixels
    return {f"v{i}": np.full((5, 6, 6, 3), 40 * i, dtype=np.uint8) for i in range(4)}


def test_key_frame_strip():
    frames = np.stack([np.full((4, 4, 3), t, dtype=np.uint8) for t in range(5)])
    strip = G.key_frame_strip(frames, n=3)
    assert strip.shape == (4, 3 * 4 + 2 * 2, 3)
    assert strip[0, 0, 0] == 0 and strip[0, 6, 0] == 2 and strip[0, 12, 0] == 4   # frames 0, 2, 4
    assert strip[0, 4, 0] == 255                                                 # white gap
    assert G.key_frame_strip(frames[:1], n=3).shape == (4, 4, 3)
    with pytest.raises(ValueError, match="clip"):
        G.key_frame_strip(np.zeros((2, 4, 4)), n=1)


def test_frame_source_cache_placeholder_and_decode(tmp_path):
    src = G.FrameSource(frames=_frames(), paths={"gone": tmp_path / "gone.mp4"})
    assert src("v2")[0, 0, 0, 0] == 80
    ph = src("nope")
    assert ph.shape == (1, 64, 64, 3) and "no video file" in src.errors["nope"]
    src("gone")
    assert "gone.mp4" in src.errors["gone"]

    import av

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for t in range(8):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 30 * t, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    dec = G.FrameSource(paths={"x": path}, num_frames=2)
    got = dec("x")
    assert got.shape == (2, 32, 32, 3) and got[1].mean() > got[0].mean() and not dec.errors


def test_render_query_missed_truth():
    view = query_view(SIM, 0, k=2, captions=CAPTIONS, videos=VIDEOS)
    fig = G.render_query(view, G.FrameSource(frames=_frames()))
    axes = fig.axes
    assert len(axes) == 3                                    # 2 retrieved + the missed true video
    labels = [ax.get_xlabel() for ax in axes]
    assert labels[0] == "1. v1\n0.900" and labels[1] == "2. v2\n0.500"
    assert labels[2] == "true: v0\nrank 3, 0.200"
    edge = [matplotlib.colors.to_hex(ax.spines["top"].get_edgecolor()) for ax in axes]
    assert edge == [G.WRONG_COLOR, G.WRONG_COLOR, G.TRUE_COLOR]
    title = fig.subfigs[0]._suptitle.get_text()
    assert "[en]" in title and "v0 at rank 3" in title and "<b>circle</b>" in title
    # the image drawn is the clip's key-frame strip
    assert axes[0].images[0].get_array()[0, 0, 0] == 40
    plt.close(fig)


def test_render_rows_models_and_languages():
    frames = G.FrameSource(frames=_frames())
    a = query_view(SIM, 0, k=2, captions=CAPTIONS, videos=VIDEOS)
    b = query_view(SIM[::-1].copy(), 0, k=2, captions=CAPTIONS, videos=VIDEOS)   # a model that gets it right
    fig = G.render_models({"base": a, "xl": b}, frames)
    assert len(fig.subfigs) == 2 and len(fig.axes) == 3 + 2
    assert fig.subfigs[0]._suptitle.get_text().startswith("base: [en]")
    assert fig.subfigs[1]._suptitle.get_text().startswith("xl: [en]")
    assert matplotlib.colors.to_hex(fig.subfigs[1].axes[0].spines["left"].get_edgecolor()) == G.TRUE_COLOR
    plt.close(fig)
    hi = query_view(SIM, 1, k=2, captions=CAPTIONS, videos=VIDEOS)
    fig2 = G.render_cross_language([a, hi], frames)
    assert "[hi, MT]" in fig2.subfigs[1]._suptitle.get_text()
    with warnings.catch_warnings():          # no missing-glyph warnings when the figure is drawn
        warnings.simplefilter("error")
        fig2.savefig(io.BytesIO(), format="png")
    assert len(fig2.axes) == 3 + 2
    plt.close(fig2)
    with pytest.raises(ValueError):
        G.render_rows([], frames)


def test_failure_bar_chart():
    groups = pd.DataFrame({"de": [2, 0, 1], "en": [1, 1, 0], "total": [3, 1, 1]},
                          index=pd.Index(["shape", "color", "language_noise"], name="attribute"))
    fig = G.failure_bar_chart(groups)
    ax = fig.axes[0]
    assert len(ax.patches) == 6                           # 3 attributes x 2 languages
    assert [t.get_text() for t in ax.get_yticklabels()] == ["language_noise", "color", "shape"]
    widths = {(round(p.get_y() + p.get_height() / 2), round(p.get_x())): p.get_width() for p in ax.patches}
    assert widths[(2, 0)] == 2 and widths[(2, 2)] == 1    # shape: 2 de, then 1 en stacked at x=2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["de", "en"]
    assert ax.get_title() == "Failures by confused attribute" and "failed queries" in ax.get_xlabel()
    plt.close(fig)


def test_html_and_fonts():
    view = query_view(SIM, 0, k=2, captions=CAPTIONS, videos=VIDEOS)
    frames = G.FrameSource(frames=_frames())
    out = G.query_html(view, frames)
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', out)
    assert len(imgs) == 3 and base64.b64decode(imgs[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "&lt;b&gt;circle&lt;/b&gt;" in out and "<b>circle" not in out
    assert out.count(G.TRUE_COLOR) == 1 and out.count(G.WRONG_COLOR) == 2
    both = G.rows_html({"base": view, "hi": query_view(SIM, 1, k=2, captions=CAPTIONS, videos=VIDEOS)}, frames)
    assert both.count('class="mvkit-query"') == 2 and "\u0932\u093e\u0932" in both
    assert G.displayable("a red circle") and not G.displayable("\ue000")
    odd_text = query_view(SIM, 0, k=1, captions=[CaptionRecord("cx", "v0", "en", "\ue000\ue001"), CAPTIONS[1]],
                          videos=VIDEOS)
    assert "cx: needs a font" in G.query_title(odd_text) and "\ue000" in G.query_html(odd_text, frames)
    odd = query_view(SIM, 0, k=1, caption_video=np.array([0, 0]))
    assert "query 0" in G.query_title(odd)


def test_script_fonts_restores_only_the_font_family():
    before = list(plt.rcParams["font.family"])
    plt.ion()
    try:
        with G.script_fonts():
            assert plt.rcParams["font.family"][0] == "DejaVu Sans"
            plt.figure()
        assert plt.rcParams["font.family"] == before and matplotlib.is_interactive()
    finally:
        plt.ioff()
        plt.close("all")
