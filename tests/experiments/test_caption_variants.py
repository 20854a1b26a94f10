"""Captions-only world variants (another MT noise rate) reuse the very same clips."""
from __future__ import annotations

import json

import pytest

from mvkit.data.synth.world import generate_world


def _captions(world):
    return {json.loads(l)["caption_id"]: json.loads(l)["text"] for l in (world / "captions.jsonl").open()}


def test_videos_from_links_the_same_clips_and_changes_only_captions(tmp_path):
    base = generate_world(tmp_path / "base", 12, seed=3, duration=1.0, workers=1, mt_noise=0.0)
    noisy = generate_world(tmp_path / "noisy", 12, seed=3, duration=1.0, workers=1, mt_noise=1.0,
                           videos_from=base)
    for clip in (base / "videos").glob("*.mp4"):
        assert (noisy / "videos" / clip.name).read_bytes() == clip.read_bytes()
    assert (base / "videos.jsonl").read_text() == (noisy / "videos.jsonl").read_text()
    a, b = _captions(base), _captions(noisy)
    assert a.keys() == b.keys()
    changed = [k for k in a if a[k] != b[k]]
    assert changed and all("#en2" in k or "2en#" in k for k in changed)   # only translations differ
    assert any("2en#" in k for k in changed)                   # translate-test ones included
    with pytest.raises(ValueError, match="other clips"):
        generate_world(tmp_path / "bad", 12, seed=4, duration=1.0, workers=1, videos_from=base)
    with pytest.raises(ValueError, match="other clips"):
        generate_world(tmp_path / "bad2", 12, seed=3, duration=2.0, workers=1, videos_from=base)
