"""mvkit-tiny's motion and audio towers: the small analogs of I3D and SoundNet.

Real multi-stream retrieval models (Mithun et al., MMT) put a motion network (I3D, on
stacked frames) and an audio network (SoundNet/VGGish, on the waveform or log-mel) next
to the per-frame appearance CNN; single-frame features cannot tell "moves left" from
"moves right" or hear a whistle. These towers do the same at 64x64 pixels and 64 mel
bands, and project into the CLIP embedding space so each stream can be compared with
the text tower directly (zero-shot) or fed to a trained head (cached features).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class StreamsConfig:
    """Shapes of the two towers (saved as ``streams_config.json`` next to the checkpoint)."""

    embed_dim: int = 128          # output dim of both towers (= the CLIP embed_dim)
    motion_width: int = 96
    motion_steps: int = 7         # frame pairs seen in pretraining (8 frames)
    audio_width: int = 96
    n_mels: int = 64
    audio_segments: int = 8       # audio features per clip (time segments)
    audio_mean: float = -6.0      # log-mel standardisation, measured on the pretraining world
    audio_std: float = 4.0

    def to_dict(self) -> dict:
        return asdict(self)


class MotionTower(nn.Module):
    """Frame pairs -> one motion feature per step ``[B, T-1, D]``.

    Each step sees frame ``t`` and the signed difference ``t+1 - t`` (6 channels, the
    cheap stand-in for optical flow) at half resolution, goes through three strided
    convolutions, is
    pooled over space, gets a learned position-in-clip embedding (so even a mean over
    steps tells "left then right" from "right then left"), and a temporal convolution
    mixes neighbouring steps. Inputs are the encoder's normalised frames.
    """

    def __init__(self, embed_dim: int = 128, width: int = 96, steps: int = 7):
        super().__init__()
        w = width
        self.pos = nn.Parameter(torch.zeros(steps, w))
        self.spatial = nn.Sequential(
            nn.AvgPool2d(2),
            nn.Conv2d(6, w // 2, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(w // 2, w, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(w, w, 3, stride=2, padding=1), nn.GELU(),
        )
        self.temporal = nn.Sequential(nn.Conv1d(w, w, 3, padding=1), nn.GELU())
        self.norm = nn.LayerNorm(w)
        self.proj = nn.Linear(w, embed_dim, bias=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames [B, T, 3, S, S]`` (T >= 2) -> ``[B, T-1, embed_dim]``."""
        if frames.ndim != 5 or frames.shape[1] < 2:
            raise ValueError(f"MotionTower expects frames [B, T>=2, 3, S, S], got {tuple(frames.shape)}")
        b, t = frames.shape[:2]
        pairs = torch.cat([frames[:, :-1], frames[:, 1:] - frames[:, :-1]], dim=2)   # [B, T-1, 6, S, S]
        x = self.spatial(pairs.flatten(0, 1))                                        # [B(T-1), w, s, s]
        x = x.mean(dim=(2, 3)).view(b, t - 1, -1)                                    # [B, T-1, w]
        x = x + _resample_positions(self.pos, t - 1)[None]
        x = x + self.temporal(x.transpose(1, 2)).transpose(1, 2)
        return self.proj(self.norm(x))


class AudioTower(nn.Module):
    """Log-mel ``[B, n_mels, L]`` -> ``[B, segments, D]``: a small 2-D CNN over the
    spectrogram (the SoundNet/VGGish analog), pooled over frequency, then over time into
    a fixed number of segments, with a temporal convolution so order is encoded."""

    def __init__(self, embed_dim: int = 128, width: int = 96, segments: int = 8,
                 mean: float = -6.0, std: float = 4.0):
        super().__init__()
        w = width
        self.segments = segments
        self.pos = nn.Parameter(torch.zeros(segments, w))
        self.register_buffer("mean", torch.tensor(float(mean)), persistent=True)
        self.register_buffer("std", torch.tensor(float(std)), persistent=True)
        self.conv = nn.Sequential(
            nn.Conv2d(1, w // 4, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(w // 4, w // 2, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(w // 2, w, 3, stride=2, padding=1), nn.GELU(),
        )
        self.temporal = nn.Sequential(nn.Conv1d(w, w, 3, padding=1), nn.GELU())
        self.norm = nn.LayerNorm(w)
        self.proj = nn.Linear(w, embed_dim, bias=False)

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        if log_mel.ndim != 3:
            raise ValueError(f"AudioTower expects log-mel [B, n_mels, L], got {tuple(log_mel.shape)}")
        x = (log_mel - self.mean) / self.std
        x = self.conv(F.avg_pool2d(x.unsqueeze(1), (1, 2), ceil_mode=True))   # 20 ms hop is enough                              # [B, w, m, l]
        x = x.mean(dim=2)                                          # pool frequency -> [B, w, l]
        x = F.adaptive_avg_pool1d(x, self.segments)                # [B, w, segments]
        x = x + self.pos.T[None]
        x = x + self.temporal(x)
        return self.proj(self.norm(x.transpose(1, 2)))


def _resample_positions(pos: torch.Tensor, n: int) -> torch.Tensor:
    """Position embeddings ``[P, w]`` linearly resampled to ``n`` steps (another frame
    count than the one used in pretraining keeps "early" and "late" meaning the same)."""
    if pos.shape[0] == n:
        return pos
    return F.interpolate(pos.T[None], size=n, mode="linear", align_corners=True)[0].T


class StreamTowers(nn.Module):
    """The two extra towers of mvkit-tiny, saved as ``streams.safetensors``."""

    def __init__(self, cfg: StreamsConfig):
        super().__init__()
        self.cfg = cfg
        self.motion = MotionTower(cfg.embed_dim, cfg.motion_width, cfg.motion_steps)
        self.audio = AudioTower(cfg.embed_dim, cfg.audio_width, cfg.audio_segments,
                                cfg.audio_mean, cfg.audio_std)
