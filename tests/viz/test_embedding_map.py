"""Embedding maps: projections are repeatable, figures carry every point, line and number."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection

from mvkit.analysis.geometry import geometry_summary
from mvkit.viz import embedding_map as E


def _space(n_videos=6, seed=0):
    rng = np.random.default_rng(seed)
    video = rng.normal(size=(n_videos, 8))
    en = video + 0.1 * rng.normal(size=video.shape)
    de = video + 0.1 * rng.normal(size=video.shape)
    text = np.concatenate([en, de])
    caption_video = np.concatenate([np.arange(n_videos)] * 2)
    langs = ["en"] * n_videos + ["de"] * n_videos
    groups = [[i, i + n_videos] for i in range(n_videos)]
    return video, text, caption_video, langs, groups


def test_pca_projection_hand_case():
    # points on a line along x (after normalisation: (1,0) and (-1,0) and (0,1))
    x = np.array([[2.0, 0.0], [-1.0, 0.0], [0.0, 3.0]])
    p = E.project_2d(x, method="pca")
    assert p.shape == (3, 2)
    # distances between points are preserved by a 2-D PCA of 2-D data
    d_in = np.linalg.norm(np.array([[1, 0], [-1, 0], [0, 1]])[:, None] - np.array([[1, 0], [-1, 0], [0, 1]])[None], axis=-1)
    d_out = np.linalg.norm(p[:, None] - p[None], axis=-1)
    assert np.allclose(d_in, d_out)
    assert np.allclose(p.mean(axis=0), 0)
    # the sign rule makes the result independent of the SVD's arbitrary signs
    assert np.array_equal(p, E.project_2d(x.copy(), method="pca"))
    with pytest.raises(ValueError, match="unknown projection"):
        E.project_2d(x, method="tsne")
    with pytest.raises(ValueError, match="at least 4"):
        E.project_2d(x, method="umap")


@pytest.mark.slow   # the first UMAP fit in a process compiles numba kernels (~10 s idle, more under load)
def test_umap_projection_is_seeded():
    video, text, *_ = _space(n_videos=15)
    x = np.concatenate([video, text])
    a = E.project_2d(x, method="umap", random_state=3, n_neighbors=5)
    b = E.project_2d(x, method="umap", random_state=3, n_neighbors=5)
    assert a.shape == (45, 2) and np.isfinite(a).all()
    assert np.allclose(a, b)


def test_embedding_map_figure():
    video, text, cv, langs, groups = _space()
    fig = E.embedding_map(video, text, cv, langs, translation_groups=groups, method="pca", title="before")
    ax_mod, ax_lang, ax_tab = fig.axes
    assert ax_mod.get_title() == "before: by modality"
    assert ax_lang.get_title() == "before: captions by language"
    assert ax_mod.get_xlabel() == "PCA 1"
    # modality panel: one scatter for the 6 videos, one for the 12 captions
    assert [len(c.get_offsets()) for c in ax_mod.collections] == [6, 12]
    # language panel: videos, the translation lines (one per pair), then one scatter per language
    lines = [c for c in ax_lang.collections if isinstance(c, LineCollection)]
    assert len(lines) == 1 and len(lines[0].get_segments()) == 6
    sizes = sorted(len(c.get_offsets()) for c in ax_lang.collections if not isinstance(c, LineCollection))
    assert sizes == [6, 6, 6]
    legend = [t.get_text() for t in ax_lang.get_legend().get_texts()]
    assert "de (6)" in legend and "en (6)" in legend
    # the table shows the geometry numbers
    expect = geometry_summary(video, text, cv, langs)
    cells = {ax_tab.tables[0][r, 0].get_text().get_text(): ax_tab.tables[0][r, 1].get_text().get_text()
             for r in range(1, len(expect) + 1)}
    assert cells["modality gap"] == f"{expect['modality_gap']:.3f}"
    assert cells["alignment"] == f"{expect['alignment']:.3f}"
    plt.close(fig)

    fig2 = E.embedding_map(video, text, cv, langs, method="pca", table=False, max_lines=2,
                           translation_groups=groups)
    assert len(fig2.axes) == 2
    assert len(next(c for c in fig2.axes[1].collections if isinstance(c, LineCollection)).get_segments()) == 2
    plt.close(fig2)


def test_compare_embedding_maps_and_errors():
    video, text, cv, langs, groups = _space()
    far = text + np.array([5.0] * 8)    # a model with a big modality gap
    states = {
        "before": {"video_emb": video, "text_emb": far, "caption_video": cv, "langs": langs},
        "after": {"video_emb": video, "text_emb": text, "caption_video": cv, "langs": langs,
                  "translation_groups": groups},
    }
    fig, table = E.compare_embedding_maps(states, method="pca")
    assert len(fig.axes) == 4
    assert fig.axes[2].get_title() == "after: by modality"
    assert table.columns.tolist() == ["before", "after"]
    assert table.loc["modality gap", "before"] > table.loc["modality gap", "after"]
    plt.close(fig)
    with pytest.raises(ValueError, match="language labels"):
        E.embedding_map(video, text, cv, langs[:3], method="pca")
    with pytest.raises(ValueError, match="share one space"):
        E.embedding_map(video[:, :4], text, cv, langs, method="pca")
    with pytest.raises(ValueError):
        E.compare_embedding_maps({})
    plt.close("all")
