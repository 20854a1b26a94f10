"""Draw a scene into RGB frames and synthesise its soundtrack, in plain NumPy.

Frames: objects on a dim, cluttered background; motion parameters are chosen so that
slow and fast differ clearly at 8 fps and every path stays inside the frame.
Audio: each event of the main object sounds in the timbre of its material (metal: a
ringing inharmonic tone with a long decay; wood: a short low knock) with a temporal
pattern tied to the motion (a bounce clicks at every impact, a spin whirs as a fast
train of ticks, a slide scrapes, grow/shrink glide up/down in pitch, staying taps once),
over a little room noise and a random low hum (audio clutter).
"""
from __future__ import annotations

from typing import Any

import numpy as np

RGB = {
    "red": (225, 45, 40), "green": (40, 190, 70), "blue": (50, 90, 235),
    "yellow": (240, 215, 45), "white": (240, 240, 240), "purple": (160, 60, 210),
}
RADIUS = {"small": 5.0, "big": 9.0}
# per-second rates: slide px/s, log-scale/s, degrees/s, bounces/s
SLIDE = {"slow": 5.0, "fast": 13.0}
SCALE = {"slow": 0.12, "fast": 0.28}
SPIN = {"slow": 60.0, "fast": 180.0}
BOUNCE = {"slow": 0.9, "fast": 2.2}
BOUNCE_HEIGHT = 7.0
_DIRS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def _trajectory(obj: dict[str, Any], t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Offsets (dx, dy), log-scale and angle of an object at times ``t``, from its events."""
    dx = np.zeros_like(t)
    dy = np.zeros_like(t)
    logs = np.zeros_like(t)
    ang = np.zeros_like(t)
    for e in obj["events"]:
        m, s = e["motion"], e["speed"]
        tau = np.clip(t - e["start"], 0.0, e["end"] - e["start"])
        active = (t >= e["start"]) & (t <= e["end"])
        if m in _DIRS:
            ux, uy = _DIRS[m]
            dx += ux * SLIDE[s] * tau
            dy += uy * SLIDE[s] * tau
        elif m == "grow":
            logs += SCALE[s] * tau
        elif m == "shrink":
            logs -= SCALE[s] * tau
        elif m == "spin":
            ang += np.deg2rad(SPIN[s]) * tau
        elif m == "bounce":
            dy -= np.where(active, BOUNCE_HEIGHT * np.abs(np.sin(np.pi * BOUNCE[s] * tau)), 0.0)
    return dx, dy, logs, ang


def path_fits(obj: dict[str, Any], duration: float, fps: int = 8, size: int = 64,
              radius: tuple[float, float] = (3.0, 16.0)) -> bool:
    """True when the object's whole path fits in the frame and its radius stays in ``radius``.

    :func:`render_frames` centres a path that does not fit, and part of it then leaves the
    picture; long clips with several events check their paths with this first.
    """
    t = (np.arange(round(duration * fps)) + 0.5) / fps
    dx, dy, logs, _ = _trajectory(obj, t)
    r = RADIUS[obj["size"]] * np.exp(logs)
    if r.min() < radius[0] or r.max() > radius[1]:
        return False
    return bool(np.min(size - 1 - r - dx) > np.max(1 + r - dx) and np.min(size - 1 - r - dy) > np.max(1 + r - dy))


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if shape == "circle":
        return u * u + v * v <= 1.0
    if shape == "square":
        return (np.abs(u) <= 0.82) & (np.abs(v) <= 0.82)
    if shape == "triangle":
        # upward triangle inscribed in the unit circle: three half-planes
        return (v <= 0.5) & (np.sqrt(3) * u - v <= 1.0) & (-np.sqrt(3) * u - v <= 1.0)
    if shape == "cross":
        return ((np.abs(u) <= 0.34) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= 0.34) & (np.abs(u) <= 1.0))
    raise ValueError(f"unknown shape {shape!r}")


def _texture_dark(texture: str, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Where the texture darkens the fill; ``p, q`` are object-local pixel coordinates."""
    if texture == "striped":
        return (np.floor((p + 64.0) / 2.5) % 2) == 1
    if texture == "dotted":
        return ((np.mod(p + 64.0, 5.0) - 2.5) ** 2 + (np.mod(q + 64.0, 5.0) - 2.5) ** 2) < 2.0
    return np.zeros_like(p, dtype=bool)


def _background(rng: np.random.Generator, size: int, n_clutter: int) -> np.ndarray:
    g = rng.uniform(25, 70)
    tint = rng.uniform(-8, 8, size=3)
    grad = np.linspace(-10, 10, size)[:, None, None] * rng.choice([-1, 1])
    bg = np.full((size, size, 3), g) + tint + grad + rng.normal(0, 3, (size, size, 1))
    for _ in range(n_clutter):
        # dim, desaturated specks and bars: visible clutter, never mistaken for an object
        w, h = rng.integers(1, 5, size=2)
        x, y = rng.integers(0, size - w), rng.integers(0, size - h)
        bg[y:y + h, x:x + w] = rng.uniform(60, 110) + rng.uniform(-6, 6, size=3)
    return bg


def render_frames(scene: dict[str, Any], seed: int, duration: float, fps: int = 8,
                  size: int = 64) -> np.ndarray:
    """Frames ``uint8 [T, size, size, 3]`` of a scene; positions come from ``seed``."""
    rng = np.random.default_rng(seed)
    n = round(duration * fps)
    t = (np.arange(n) + 0.5) / fps
    bg = _background(rng, size, scene["clutter"])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    frames = np.repeat(bg[None].astype(np.float32), n, axis=0)
    # companion first, main object drawn on top
    for obj in reversed(scene["objects"]):
        dx, dy, logs, ang = _trajectory(obj, t)
        r = RADIUS[obj["size"]] * np.exp(logs)
        lo_x, hi_x = np.max(1 + r - dx), np.min(size - 1 - r - dx)
        lo_y, hi_y = np.max(1 + r - dy), np.min(size - 1 - r - dy)
        x0 = rng.uniform(lo_x, hi_x) if hi_x > lo_x else (lo_x + hi_x) / 2
        y0 = rng.uniform(lo_y, hi_y) if hi_y > lo_y else (lo_y + hi_y) / 2
        a0 = rng.uniform(0, 2 * np.pi) if obj["shape"] != "triangle" else rng.uniform(-0.2, 0.2)
        col = np.array(RGB[obj["color"]], dtype=np.float32)
        # all frames at once: object-local coordinates [T, H, W]
        px = xx[None] - (x0 + dx)[:, None, None]
        py = yy[None] - (y0 + dy)[:, None, None]
        c, s = np.cos(-(a0 + ang))[:, None, None], np.sin(-(a0 + ang))[:, None, None]
        p, q = c * px - s * py, s * px + c * py
        rr = r[:, None, None]
        mask = _shape_mask(obj["shape"], p / rr, q / rr)
        dark = _texture_dark(obj["texture"], p, q) & mask
        frames[mask] = col
        frames[dark] = col * 0.4
    frames += 2.0 * rng.standard_normal(frames.shape, dtype=np.float32)   # sensor noise
    return np.clip(frames, 0, 255).astype(np.uint8)


# ---- audio ------------------------------------------------------------------------------

def _impact(material: str, sr: int, f0: float, rng: np.random.Generator, length: float = 0.5) -> np.ndarray:
    """One hit: metal rings (inharmonic partials, slow decay), wood knocks (low, fast decay)."""
    tt = np.arange(int(length * sr)) / sr
    if material == "metal":
        partials = [(1.0, 1.0), (2.76, 0.5), (5.40, 0.25)]
        sig = sum(a * np.sin(2 * np.pi * f0 * k * tt) for k, a in partials) * np.exp(-tt / 0.18)
    else:
        # a dull thud: low tone plus low-passed noise (a 16-tap mean cuts above ~1 kHz)
        noise = np.convolve(rng.normal(0, 1, tt.size), np.ones(16) / 16, mode="same") * 2.0
        sig = (np.sin(2 * np.pi * f0 * tt) + noise) * np.exp(-tt / 0.025)
    return sig


def _add(buf: np.ndarray, sig: np.ndarray, at: float, sr: int, gain: float) -> None:
    i = int(at * sr)
    if i >= buf.size:
        return
    k = min(sig.size, buf.size - i)
    buf[i:i + k] += gain * sig[:k]


def render_audio(scene: dict[str, Any], seed: int, duration: float, sr: int = 16000) -> np.ndarray | None:
    """Mono float32 waveform in [-1, 1], or ``None`` for a silent clip (no audio stream)."""
    if not scene["audio"]:
        return None
    rng = np.random.default_rng(seed + 7919)
    n = round(duration * sr)
    buf = rng.normal(0, 0.004, n)                                    # room tone
    tt = np.arange(n) / sr
    buf += 0.02 * np.sin(2 * np.pi * rng.uniform(50, 120) * tt)      # hum: audio clutter
    main = scene["objects"][0]
    mat = main["material"]
    f0 = rng.uniform(900, 1300) if mat == "metal" else rng.uniform(220, 380)
    for e in main["events"]:
        m, s, t0, t1 = e["motion"], e["speed"], e["start"], e["end"]
        if m == "bounce":
            f = BOUNCE[s]
            k = 1
            while t0 + k / f <= t1 + 1e-6:          # an impact whenever it lands
                _add(buf, _impact(mat, sr, f0, rng), t0 + k / f, sr, 0.5)
                k += 1
        elif m == "spin":
            rate = 6.0 if s == "slow" else 14.0     # whir: a train of soft ticks
            for at in np.arange(t0, t1, 1.0 / rate):
                _add(buf, _impact(mat, sr, f0 * 1.5, rng, 0.12), at, sr, 0.18)
        elif m in _DIRS:
            seg = (tt >= t0) & (tt < t1)
            scrape = rng.normal(0, 1, n)
            if mat == "metal":                      # bright scrape around the ring frequency
                scrape = scrape * np.sin(2 * np.pi * f0 * 2 * tt)
            else:                                   # dull rumble: smoothed noise
                scrape = np.convolve(scrape, np.ones(12) / 12, mode="same") * 3
            buf += np.where(seg, (0.05 if s == "slow" else 0.12) * scrape, 0.0)
        elif m in ("grow", "shrink"):
            seg = (tt >= t0) & (tt < t1)
            frac = np.clip((tt - t0) / max(t1 - t0, 1e-3), 0, 1)
            ratio = 2.0 if s == "fast" else 1.4
            pitch = f0 * (ratio ** frac if m == "grow" else ratio ** (-frac))
            phase = 2 * np.pi * np.cumsum(pitch) / sr
            tone = np.sin(phase) if mat == "metal" else np.sign(np.sin(phase)) * 0.5 * (np.sin(2 * np.pi * 10 * tt) > 0)
            buf += np.where(seg, 0.12 * tone, 0.0)
        elif m == "stay":
            _add(buf, _impact(mat, sr, f0, rng), t0 + 0.1, sr, 0.4)
    peak = np.max(np.abs(buf))
    return (buf * (0.6 / peak if peak > 0 else 1.0)).astype(np.float32)
