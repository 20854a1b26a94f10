import pickle

import numpy as np
import pytest

from mvkit.features.decode import CorruptVideoError, decode_clip, sample_indices

from .conftest import FPS, SIZE, nearest_mel_band, truncate, write_clip


@pytest.mark.parametrize("n_total, n, expected", [
    (10, 4, [0, 3, 5, 8]),                     # segments [0,1] [2,4] [5,6] [7,9]
    (24, 8, [1, 4, 7, 10, 13, 16, 19, 22]),    # segments of 3: middles 1, 4, ...
    (8, 8, list(range(8))),                    # one frame per segment
    (9, 1, [4]),                               # middle of the whole clip
    (3, 8, [0, 0, 0, 1, 1, 1, 2, 2]),          # fewer frames than segments: repeats
    (1, 4, [0, 0, 0, 0]),
])
def test_sample_indices_by_hand(n_total, n, expected):
    assert sample_indices(n_total, n).tolist() == expected


def test_sample_indices_brute_force_middles():
    for n_total in range(1, 60):
        for n in range(1, 12):
            idx = sample_indices(n_total, n)
            assert len(idx) == n and idx.min() >= 0 and idx.max() < n_total
            assert np.all(np.diff(idx) >= 0)
            if n_total >= n:   # every segment non-empty: middle of [start, end]
                for i, k in enumerate(idx):
                    lo, hi = (i * n_total) // n, ((i + 1) * n_total) // n - 1
                    assert k == (lo + hi) // 2
    with pytest.raises(ValueError):
        sample_indices(0, 8)


def test_decode_round_trip_of_colour_ramps(clip_dir):
    clip = decode_clip(clip_dir / "tone.mp4", num_frames=8)
    idx = sample_indices(24, 8)
    assert clip.frames.dtype == np.uint8 and clip.frames.shape == (8, SIZE, SIZE, 3)
    np.testing.assert_allclose(clip.frame_times, idx / FPS)
    assert clip.duration == pytest.approx(24 / FPS)
    # red encodes the frame index, green a horizontal ramp; lossy codec => small error
    red = clip.frames[:, SIZE // 2, SIZE // 2, 0].astype(float)
    np.testing.assert_allclose(red, 255 * idx / 23, atol=8)
    green = clip.frames[3, SIZE // 2, :, 1].astype(float)
    np.testing.assert_allclose(green, np.linspace(0, 255, SIZE), atol=12)
    # the 1 kHz tone: ~100 log-mel frames per second, energy in the 1 kHz band
    assert clip.log_mel.dtype == np.float32 and clip.log_mel.shape[0] == 64
    assert abs(clip.log_mel.shape[1] - 100 * 24 / FPS) <= 5
    assert int(clip.log_mel.mean(axis=1).argmax()) == nearest_mel_band(1000.0)
    assert np.isfinite(clip.log_mel).all()


def test_no_audio_track_is_none_not_zeros(clip_dir):
    assert decode_clip(clip_dir / "silent.mp4").log_mel is None
    assert decode_clip(clip_dir / "tone.mp4", audio=False).log_mel is None


def test_faststart_layout_decodes_the_same_frames(clip_dir):
    a = decode_clip(clip_dir / "silent.mp4", num_frames=5)
    b = decode_clip(clip_dir / "faststart.mp4", num_frames=5)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_allclose(a.frame_times, b.frame_times)


def test_decoding_stops_at_the_last_sampled_frame(tmp_path):
    # index at the front (faststart), tail cut off: the middle frame (index 11) is
    # still readable, so 1 frame decodes while all 24 cannot.
    src = write_clip(tmp_path / "noise.mp4", faststart=True, tone_hz=None, seed=3)
    cut = truncate(src, tmp_path / "cut.mp4", 0.8)
    assert decode_clip(cut, num_frames=1).frames.shape[0] == 1
    with pytest.raises(CorruptVideoError, match="truncated"):
        decode_clip(cut, num_frames=24)


@pytest.mark.parametrize("name, reason", [
    ("does_not_exist.mp4", "missing"),
    ("notes.mp4", "unreadable"),
    ("empty.mp4", "unreadable"),
    ("truncated_end.mp4", "truncated"),
    ("truncated_mid.mp4", "truncated"),
    ("audio_only.m4a", "no video stream"),
])
def test_corrupt_files_raise_naming_file_and_reason(clip_dir, name, reason):
    with pytest.raises(CorruptVideoError) as err:
        decode_clip(clip_dir / name)
    assert err.value.reason == reason
    assert name in str(err.value) and reason in str(err.value)
    # survives the trip back from a DataLoader worker
    again = pickle.loads(pickle.dumps(err.value))
    assert again.reason == reason and str(again) == str(err.value)


def test_counting_frames_by_decoding_gives_the_same_clip(clip_dir):
    # the path taken when a header has no frame count (or miscounts it)
    from mvkit.features.decode import _decode_once

    a = decode_clip(clip_dir / "tone.mp4", num_frames=6)
    b = _decode_once(clip_dir / "tone.mp4", 6, True, trust_count=False)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_allclose(a.frame_times, b.frame_times)
    np.testing.assert_array_equal(a.log_mel, b.log_mel)
