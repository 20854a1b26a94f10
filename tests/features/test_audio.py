import numpy as np
import pytest
from scipy.signal import stft

from mvkit.features import audio

from .conftest import nearest_mel_band


def tone(hz, seconds=1.0, sr=16_000, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_mel_scale_round_trip_and_known_value():
    assert audio.hz_to_mel(700.0) == pytest.approx(2595 * np.log10(2))
    f = np.array([0.0, 440.0, 1000.0, 8000.0])
    np.testing.assert_allclose(audio.mel_to_hz(audio.hz_to_mel(f)), f, atol=1e-9)


def test_filterbank_peaks_at_band_centres():
    fb = audio.mel_filterbank()
    assert fb.shape == (64, 257)
    assert fb.min() == 0.0 and fb.max() <= 1.0
    # each band's peak FFT bin is the one nearest its centre frequency
    top = audio.hz_to_mel(8000.0)
    centres_hz = audio.mel_to_hz(np.arange(1, 65) * top / 65)
    expected = np.round(centres_hz / (16_000 / 512)).astype(int)
    assert np.abs(fb.argmax(axis=1) - expected).max() <= 1


def test_frame_count_and_dc_power_by_hand():
    # 1 s at 16 kHz, 400-sample window, 160 hop, no centring: 1 + (16000 - 400) // 160 = 98
    x = np.ones(16_000, np.float32)
    p = audio.power_spectrogram(x)
    assert p.shape == (257, 98)
    # DC bin of a constant 1: (sum of a periodic Hann of length 400)^2 = 200^2
    np.testing.assert_allclose(p[0], 200.0 ** 2, rtol=1e-9)
    # a short signal still gives one (zero-padded) frame
    assert audio.power_spectrogram(np.ones(100)).shape == (257, 1)


def test_power_matches_scipy_stft():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4000)
    ours = audio.power_spectrogram(x)
    _, _, z = stft(x, window="hann", nperseg=400, noverlap=240, nfft=512,
                   boundary=None, padded=False, detrend=False)
    ref = np.abs(z * 200.0) ** 2      # scipy scales by 1 / sum(window) = 1 / 200
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("hz", [300.0, 1000.0, 3000.0])
def test_pure_tone_lands_in_its_mel_band(hz):
    m = audio.log_mel(tone(hz), 16_000)
    assert m.dtype == np.float32 and m.shape == (64, 98)
    assert int(m.mean(axis=1).argmax()) == nearest_mel_band(hz)


def test_resampling_keeps_the_tone_band_and_length():
    m44 = audio.log_mel(tone(1000.0, sr=44_100), 44_100)
    m16 = audio.log_mel(tone(1000.0), 16_000)
    assert m44.shape == m16.shape
    assert int(m44.mean(axis=1).argmax()) == int(m16.mean(axis=1).argmax()) == nearest_mel_band(1000.0)


def test_silence_is_log_eps_and_stereo_is_averaged():
    np.testing.assert_allclose(audio.log_mel(np.zeros(1600), 16_000), np.log(1e-6), rtol=1e-6)
    x = tone(1000.0)
    stereo = np.stack([x, x])
    np.testing.assert_allclose(audio.log_mel(stereo, 16_000), audio.log_mel(x, 16_000), rtol=1e-6)
