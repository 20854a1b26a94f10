"""Motion and audio towers: shapes, order sensitivity, padding-free audio normalisation."""
from __future__ import annotations

import pytest
import torch

from mvkit.backbone.towers import (
    AudioTower,
    MotionTower,
    StreamsConfig,
    StreamTowers,
    _resample_positions,
)


def test_motion_tower_shapes_and_time_order():
    torch.manual_seed(0)
    m = MotionTower(embed_dim=16, width=32, steps=7).eval()
    with torch.no_grad():
        m.pos.normal_()
    x = torch.randn(2, 8, 3, 64, 64)
    y = m(x)
    assert y.shape == (2, 7, 16)
    # reversing time changes the clip (a mean over steps is not order-blind: positions)
    with torch.no_grad():
        fwd, bwd = m(x[:1]).mean(1), m(x[:1].flip(1)).mean(1)
    assert not torch.allclose(fwd, bwd, atol=1e-4)
    # a still clip: every frame difference is zero, so only frame content drives it
    still = x[:1, :1].expand(1, 8, 3, 64, 64)
    assert torch.isfinite(m(still)).all()
    with pytest.raises(ValueError, match="T>=2"):
        m(x[:, :1])
    assert m(torch.randn(1, 4, 3, 64, 64)).shape == (1, 3, 16)    # other frame counts


def test_resampled_positions_keep_endpoints():
    pos = torch.arange(7.0)[:, None].repeat(1, 3)
    r = _resample_positions(pos, 4)
    assert r.shape == (4, 3)
    assert torch.allclose(r[:, 0], torch.tensor([0.0, 2.0, 4.0, 6.0]))
    assert _resample_positions(pos, 7) is pos


def test_audio_tower_fixed_segments_for_any_length():
    torch.manual_seed(0)
    a = AudioTower(embed_dim=16, width=32, segments=8, mean=-5.0, std=2.0).eval()
    for length in (37, 300, 301):
        assert a(torch.randn(2, 64, length)).shape == (2, 8, 16)
    # standardisation uses the stored statistics: shifting input and mean together is a no-op
    x = torch.randn(1, 64, 120)
    b = AudioTower(embed_dim=16, width=32, segments=8, mean=-2.0, std=2.0).eval()
    b.load_state_dict({**a.state_dict(), "mean": torch.tensor(-2.0)})
    assert torch.allclose(a(x), b(x + 3.0), atol=1e-5)


def test_stream_towers_state_roundtrip():
    cfg = StreamsConfig(embed_dim=16, motion_width=32, audio_width=32)
    t1, t2 = StreamTowers(cfg), StreamTowers(cfg)
    t2.load_state_dict(t1.state_dict())
    x = torch.randn(1, 8, 3, 64, 64)
    assert torch.equal(t1.eval().motion(x), t2.eval().motion(x))
    assert {"motion.pos", "audio.pos", "audio.mean", "audio.std"} <= set(t1.state_dict())
