import numpy as np
import pytest

from mvkit.data.synth.render import RGB, render_audio, render_frames


def _scene(motion, speed="fast", shape="square", material="metal", audio=True, start=0.0, end=3.0):
    obj = {"color": "red", "shape": shape, "size": "small", "texture": "plain", "material": material,
           "role": "main", "events": [{"motion": motion, "speed": speed, "start": start, "end": end}]}
    return {"objects": [obj], "audio": audio, "sound": "ring" if material == "metal" else "knock",
            "n_events": 1, "twin_of": None, "clutter": 3}


def _red_mask(frames):
    f = frames.astype(int)
    return (np.abs(f - np.array(RGB["red"])).sum(-1) < 60)


def _centroid_and_area(frames):
    m = _red_mask(frames)
    ys, xs = np.mgrid[0:64, 0:64]
    area = m.sum((1, 2))
    return (m * xs).sum((1, 2)) / area, (m * ys).sum((1, 2)) / area, area


@pytest.mark.parametrize("motion,axis,sign", [("left", 0, -1), ("right", 0, 1), ("up", 1, -1), ("down", 1, 1)])
def test_slides_move_the_object_the_way_the_label_says(motion, axis, sign):
    cx, cy, _ = _centroid_and_area(render_frames(_scene(motion), seed=5, duration=3.0))
    track = (cx, cy)[axis]
    assert sign * (track[-1] - track[0]) > 25          # fast: ~13 px/s for ~3 s
    slow = (_centroid_and_area(render_frames(_scene(motion, "slow"), seed=5, duration=3.0)))[axis]
    assert 8 < sign * (slow[-1] - slow[0]) < 20


def test_only_frame_order_tells_left_from_right():
    # the set of positions a clip visits is time-reversal symmetric: an order-less
    # statistic (mean x over frames) cannot separate left from right, the ordered one can
    stats = {}
    for motion in ("left", "right"):
        tracks = [_centroid_and_area(render_frames(_scene(motion), seed=s, duration=1.0))[0] for s in range(80)]
        stats[motion] = (np.array([t.mean() for t in tracks]), np.array([t[-1] - t[0] for t in tracks]))
    (l_mean, l_delta), (r_mean, r_delta) = stats["left"], stats["right"]
    assert (l_delta < 0).all() and (r_delta > 0).all()
    best = max(((l_mean < th).mean() + (r_mean >= th).mean()) / 2 for th in np.linspace(0, 64, 257))
    best = max(best, max(((l_mean >= th).mean() + (r_mean < th).mean()) / 2 for th in np.linspace(0, 64, 257)))
    assert best < 0.7          # chance is 0.5; any threshold on the order-less mean stays near it


def test_grow_and_shrink_change_area():
    *_, grow = _centroid_and_area(render_frames(_scene("grow"), seed=2, duration=3.0))
    *_, shrink = _centroid_and_area(render_frames(_scene("shrink"), seed=2, duration=3.0))
    assert grow[-1] > 1.8 * grow[0] and shrink[-1] < 0.6 * shrink[0]


def test_frames_are_uint8_and_sized():
    f = render_frames(_scene("spin"), seed=0, duration=2.0, fps=8, size=48)
    assert f.shape == (16, 48, 48, 3) and f.dtype == np.uint8


def _spectral_centroid(x, sr=16000):
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / sr)
    return (spec * freqs).sum() / spec.sum()


def test_material_is_audible_and_silence_is_none():
    metal = render_audio(_scene("bounce", material="metal"), seed=0, duration=3.0)
    wood = render_audio(_scene("bounce", material="wood"), seed=0, duration=3.0)
    assert metal.dtype == np.float32 and metal.shape == (48000,) and np.abs(metal).max() <= 1.0
    assert _spectral_centroid(metal) > 2 * _spectral_centroid(wood)
    assert render_audio(_scene("bounce", audio=False), seed=0, duration=3.0) is None


def test_bounce_clicks_at_every_landing():
    x = render_audio(_scene("bounce", speed="fast", material="wood"), seed=0, duration=3.0)
    env = np.convolve(np.abs(x), np.ones(160) / 160, mode="same")
    loud = np.flatnonzero(env > 0.5 * env.max())
    onsets = loud[np.r_[True, np.diff(loud) > 1600]]  # clicks >= 0.1 s apart
    # 2.2 bounces/s from t=0: a click at every landing k / 2.2 s, k = 1..6
    assert np.allclose(onsets / 16000, np.arange(1, 7) / 2.2, atol=0.02)
