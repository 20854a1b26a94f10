"""Geometry numbers against cases computed by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mvkit.analysis import geometry as G


def test_modality_gap_hand_cases():
    video = np.array([[2.0, 0.0], [1.0, 0.0]])     # normalised: both (1, 0)
    text = np.array([[0.0, 3.0], [0.0, 1.0]])      # normalised: both (0, 1)
    assert G.modality_gap(video, text) == pytest.approx(math.sqrt(2))
    # without normalisation the raw centroids (1.5, 0) and (0, 2) are 2.5 apart
    assert G.modality_gap(video, text, normalize=False) == pytest.approx(2.5)
    # texts spread symmetrically around the video direction: centroid (cos 60, 0) = (0.5, 0)
    t = np.array([[0.5, math.sqrt(3) / 2], [0.5, -math.sqrt(3) / 2]])
    assert G.modality_gap(np.array([[1.0, 0.0]]), t) == pytest.approx(0.5)


def test_language_gap_matrix():
    emb = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    gap = G.language_gap(emb, ["en", "en", "de", "hi"], languages=["en", "de", "hi"])
    assert gap.index.tolist() == ["en", "de", "hi"] and gap.columns.tolist() == ["en", "de", "hi"]
    assert gap.loc["en", "de"] == pytest.approx(math.sqrt(2))
    assert gap.loc["en", "hi"] == pytest.approx(2.0)
    assert gap.loc["de", "hi"] == pytest.approx(math.sqrt(2))
    assert np.allclose(gap.to_numpy(), gap.to_numpy().T) and np.allclose(np.diag(gap), 0)
    with pytest.raises(ValueError, match="labels"):
        G.language_gap(emb, ["en"])
    with pytest.raises(ValueError, match="fr"):
        G.language_gap(emb, ["en", "en", "de", "hi"], languages=["fr"])


def test_alignment_hand_cases():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[0.0, 5.0], [0.0, 1.0]])       # first pair orthogonal (dist^2 = 2), second identical
    assert G.alignment(x, y) == pytest.approx(1.0)
    assert G.alignment(x, y, alpha=1) == pytest.approx(math.sqrt(2) / 2)
    with pytest.raises(ValueError, match="shapes differ"):
        G.alignment(x, y[:1])


def test_uniformity_hand_cases():
    # antipodal pair: ||x - y||^2 = 4 -> log exp(-8) = -8
    assert G.uniformity(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(-8.0)
    # three points 120 degrees apart on the circle: every squared distance is 3 -> -6
    ang = np.deg2rad([0, 120, 240])
    tri = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    assert G.uniformity(tri) == pytest.approx(-6.0)
    # mixed: points (1,0), (1,0), (0,1): sq dists 0, 2, 2 -> log((1 + 2e^-4) / 3)
    mixed = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert G.uniformity(mixed) == pytest.approx(math.log((1 + 2 * math.exp(-4)) / 3))
    # large t stays finite thanks to log-sum-exp
    assert G.uniformity(np.array([[1.0, 0.0], [-1.0, 0.0]]), t=1000) == pytest.approx(-4000.0)
    # subsampling is seeded
    big = np.random.default_rng(0).normal(size=(300, 8))
    assert G.uniformity(big, max_points=50, seed=1) == G.uniformity(big, max_points=50, seed=1)
    with pytest.raises(ValueError):
        G.uniformity(np.ones((1, 2)))


def test_geometry_summary():
    video = np.array([[1.0, 0.0], [-1.0, 0.0]])
    text = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    out = G.geometry_summary(video, text, [0, 1, 0], langs=["en", "en", "de"])
    assert out["alignment"] == pytest.approx(2 / 3)          # pairs: 0, 0, 2
    assert out["uniformity_video"] == pytest.approx(-8.0)
    assert out["modality_gap"] == pytest.approx(1 / 3)       # text centroid (0, 1/3)
    assert out["language_gap"] == pytest.approx(1.0)         # en centroid (0,0), de (0,1)
    with pytest.raises(ValueError, match="caption_video"):
        G.geometry_summary(video, text, [0, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        G.modality_gap(np.array([[np.nan, 0.0]]), text)
