"""Log-mel spectrograms in NumPy: the audio stream's input, without torchaudio.

The recipe is the one audio-visual retrieval models use for their audio towers
(VGGish/AST style): mono 16 kHz, 25 ms Hann window, 10 ms hop, 64 mel bands (HTK mel
scale, 0 Hz to Nyquist), ``log(eps + power)``. It is written out here so the feature
cache depends only on NumPy/SciPy and so every step can be tested by hand.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16_000
WIN_LENGTH = 400      # 25 ms at 16 kHz
HOP_LENGTH = 160      # 10 ms at 16 kHz
N_FFT = 512           # next power of two above the window
N_MELS = 64
LOG_EPS = 1e-6


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: ``2595 * log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                   fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters ``[n_mels, n_fft // 2 + 1]`` (peak 1, HTK mel spacing).

    Band ``m`` rises linearly from mel point ``m`` to ``m + 1`` and falls to ``m + 2``,
    where the ``n_mels + 2`` points are equally spaced in mel between ``fmin`` and
    ``fmax`` (Nyquist by default). The returned array is read-only (it is cached).
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (fft_hz[None, :] - lower) / (centre - lower)
    falling = (upper - fft_hz[None, :]) / (upper - centre)
    fb = np.clip(np.minimum(rising, falling), 0.0, None)
    fb.setflags(write=False)
    return fb


def resample(samples: np.ndarray, orig_rate: int, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling of a 1-D signal (``scipy.signal.resample_poly``); no-op if equal."""
    samples = np.asarray(samples, dtype=np.float32)
    if int(orig_rate) == int(target_rate):
        return samples
    from scipy.signal import resample_poly

    ratio = Fraction(int(target_rate), int(orig_rate))
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average channels: ``[C, N]`` or ``[N]`` -> ``[N]`` float32."""
    samples = np.asarray(samples, dtype=np.float32)
    return samples.mean(axis=0) if samples.ndim == 2 else samples


def power_spectrogram(samples: np.ndarray, win_length: int = WIN_LENGTH,
                      hop_length: int = HOP_LENGTH, n_fft: int = N_FFT) -> np.ndarray:
    """Power ``|STFT|^2`` ``[n_fft // 2 + 1, L]`` with a periodic Hann window.

    Frames start at sample 0 (no centring); a signal shorter than one window is
    zero-padded to one frame, so ``L = 1 + max(0, (N - win_length) // hop_length)``.
    """
    x = np.asarray(samples, dtype=np.float64).ravel()
    if x.size < win_length:
        x = np.pad(x, (0, win_length - x.size))
    n_frames = 1 + (x.size - win_length) // hop_length
    idx = np.arange(win_length)[None, :] + hop_length * np.arange(n_frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length) / win_length)   # periodic Hann
    spec = np.fft.rfft(x[idx] * window[None, :], n=n_fft, axis=1)
    return (spec.real ** 2 + spec.imag ** 2).T


def log_mel(samples: np.ndarray, sample_rate: int, n_mels: int = N_MELS,
            eps: float = LOG_EPS) -> np.ndarray:
    """Log-mel spectrogram ``float32 [n_mels, L]`` of a mono or ``[C, N]`` signal.

    Resamples to 16 kHz when needed, then ``log(eps + mel_fb @ |STFT|^2)`` with a
    25 ms window and 10 ms hop (``L`` is about 100 per second of audio).
    """
    x = resample(to_mono(samples), sample_rate, SAMPLE_RATE)
    power = power_spectrogram(x)
    mel = mel_filterbank(n_mels) @ power
    return np.log(eps + mel).astype(np.float32)
