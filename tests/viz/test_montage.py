"""montage: rows of clips with captions, HTML for every script, the frame-sampling figure."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord
from mvkit.viz.montage import montage, montage_html, pick_videos, sampling_figure


@pytest.fixture()
def ds(tmp_path):
    videos = [VideoRecord(f"v{i}", f"videos/v{i}.mp4", "test") for i in range(3)]
    caps = [CaptionRecord(f"v{i}#{l}", f"v{i}", l, f"{l} caption {i}", "human")
            for i in range(3) for l in ("en", "de")]
    caps[-1] = CaptionRecord("v2#de", "v2", "de", "de <b>2</b>", "machine-translated")
    return RetrievalDataset("toy", tmp_path, videos, caps)


def frames(vid):
    return np.full((4, 8, 8, 3), int(vid[1:]) * 60, np.uint8)


def test_pick_videos_needs_every_language(ds):
    assert pick_videos(ds, 2, ["en", "de"]) == ["v0", "v1"]      # v2's German caption is MT
    with pytest.raises(ValueError, match="only 2"):
        pick_videos(ds, 3, ["en", "de"])


def test_montage_rows_and_captions(ds):
    fig = montage(ds, ["v0", "v2"], ["en", "de"], frames=frames, n_frames=2)
    assert len(fig.axes) == 4
    texts = [t.get_text() for ax in fig.axes[1::2] for t in ax.texts]
    assert texts[0] == "[en] en caption 0\n[de] de caption 0"
    assert texts[1] == "[en] en caption 2\n[de] (no caption)"
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (8, 8 * 2 + 2, 3) and img[0, 0, 0] == 0   # two frames, one white gap
    plt.close(fig)


def test_montage_html_escapes_and_keeps_scripts(ds):
    out = montage_html(ds, ["v2"], ["en", "de"], kinds=("human", "machine-translated"), frames=frames)
    assert "de &lt;b&gt;2&lt;/b&gt;" in out and "<b>en</b> en caption 2" in out
    assert out.count("data:image/png;base64,") == 1


def test_sampling_figure_marks_the_middle_frames(tmp_path):
    import av

    path = tmp_path / "c.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=8)
        s.width = s.height = 16
        s.pix_fmt = "yuv420p"
        for i in range(24):
            img = np.full((16, 16, 3), i * 10, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    fig = sampling_figure(path, num_frames=4)
    timeline = fig.axes[-1]
    marks = next(ln for ln in timeline.lines if ln.get_marker() == "v")
    assert marks.get_xdata().tolist() == [2, 8, 14, 20]          # middles of 4 segments of 24 frames
    assert [ax.get_title() for ax in fig.axes[:4]] == ["t = 0.25 s", "t = 1.00 s", "t = 1.75 s", "t = 2.50 s"]
    plt.close(fig)
