"""Tiny MP4 fixtures written with PyAV: colour ramps with a pure tone, silent, broken files."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

FPS = 8
SIZE = 32
SR = 16_000


def ramp_frame(i: int, n_frames: int, size: int = SIZE) -> np.ndarray:
    """Frame ``i``: red encodes time (0..255 over the clip), green a horizontal ramp."""
    img = np.zeros((size, size, 3), np.uint8)
    img[..., 0] = round(255 * i / max(1, n_frames - 1))
    img[..., 1] = np.linspace(0, 255, size).round().astype(np.uint8)[None, :]
    img[..., 2] = 128
    return img


def write_clip(path: Path, n_frames: int = 24, fps: int = FPS, size: int = SIZE,
               tone_hz: float | None = 1000.0, sr: int = SR, faststart: bool = False,
               seed: int | None = None) -> Path:
    """Write an H.264 clip (+ AAC pure tone unless ``tone_hz`` is None).

    With ``seed`` the frames are seeded noise over the ramp, so clips differ.
    """
    import av

    opts = {"movflags": "faststart"} if faststart else {}
    c = av.open(str(path), "w", options=opts)
    v = c.add_stream("libx264", rate=fps)
    v.width = v.height = size
    v.pix_fmt = "yuv420p"
    v.options = {"crf": "8"}
    a = None
    if tone_hz is not None:
        a = c.add_stream("aac", rate=sr)
        a.layout = "mono"
    rng = np.random.default_rng(seed) if seed is not None else None
    for i in range(n_frames):
        img = ramp_frame(i, n_frames, size)
        if rng is not None:
            img = np.clip(img.astype(int) + rng.integers(-40, 40, img.shape), 0, 255).astype(np.uint8)
        for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            c.mux(p)
    for p in v.encode():
        c.mux(p)
    if a is not None:
        t = np.arange(int(sr * n_frames / fps)) / sr
        x = (0.5 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
        for s in range(0, len(x), 1024):
            fr = av.AudioFrame.from_ndarray(x[None, s:s + 1024], format="fltp", layout="mono")
            fr.sample_rate = sr
            fr.pts = s
            for p in a.encode(fr):
                c.mux(p)
        for p in a.encode():
            c.mux(p)
    c.close()
    return path


def write_audio_only(path: Path) -> Path:
    """An AAC-only file: a container without a video stream."""
    import av

    c = av.open(str(path), "w")
    a = c.add_stream("aac", rate=SR)
    a.layout = "mono"
    fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
    fr.sample_rate = SR
    fr.pts = 0
    for p in list(a.encode(fr)) + list(a.encode()):
        c.mux(p)
    c.close()
    return path


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst`` (a download cut short)."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> Path:
    """A folder of fixtures shared by the feature tests (written once per session)."""
    d = tmp_path_factory.mktemp("clips")
    write_clip(d / "tone.mp4")
    write_clip(d / "silent.mp4", tone_hz=None)
    write_clip(d / "faststart.mp4", faststart=True, tone_hz=None)
    truncate(d / "tone.mp4", d / "truncated_end.mp4", 0.5)
    truncate(d / "faststart.mp4", d / "truncated_mid.mp4", 0.5)
    write_audio_only(d / "audio_only.m4a")
    (d / "notes.mp4").write_text("this is not a video\n")
    (d / "empty.mp4").write_bytes(b"")
    return d


def nearest_mel_band(hz: float, n_mels: int = 64, sr: int = SR) -> int:
    """The mel band whose centre is closest to ``hz`` (HTK centres equally spaced in mel)."""
    top = 2595 * np.log10(1 + (sr / 2) / 700)
    centres = np.arange(1, n_mels + 1) * top / (n_mels + 1)
    return int(np.argmin(abs(centres - 2595 * np.log10(1 + hz / 700))))


# --------------------------------------------------------------------------- fake encoder
class PixelStatsTransform:
    """Picklable frame transform: every 4th pixel, float in [0, 1], ``[T, 3, S, S]``."""

    def __call__(self, frames: np.ndarray):
        import torch

        return torch.from_numpy(np.ascontiguousarray(frames[:, ::4, ::4])).permute(0, 3, 1, 2).float() / 255


class FakeEncoder:
    """Deterministic stand-in for a ``VideoTextEncoder`` (pooled pixel statistics).

    appearance ``[T, 6]``: per-frame channel means and stds; motion ``[T-1, 3]``: mean
    absolute frame difference per channel; audio ``[ceil(L/100), 4]``: per-second means
    of four mel-band groups. ``fail_after`` makes ``encode_batch`` raise after that many
    calls (a simulated kill); ``nan_video`` makes that batch position produce NaN.
    """

    name = "fake-pixels"
    pretrained = "none"
    weights_sha256 = "0" * 64
    streams: ClassVar[dict[str, int]] = {"appearance": 6, "motion": 3, "audio": 4}
    text_dim = 5

    def __init__(self, fail_after: int | None = None, nan: bool = False, name: str | None = None):
        self.fail_after, self.nan, self.calls = fail_after, nan, 0
        self.frame_transform = PixelStatsTransform()
        if name:
            self.name = name

    def provenance(self) -> dict:
        return {"name": self.name, "kind": "test"}

    def encode_batch(self, frames, log_mels):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("simulated kill")
        out = []
        for f, mel in zip(frames, log_mels):
            f = f.double()
            app = np.concatenate([f.mean(dim=(2, 3)).numpy(), f.std(dim=(2, 3)).numpy()], axis=1)
            mot = (f[1:] - f[:-1]).abs().mean(dim=(2, 3)).numpy()
            d = {"appearance": app, "motion": mot}
            if self.nan:
                d["appearance"] = app * np.nan
            if mel is not None:
                secs = [mel[:, s:s + 100] for s in range(0, mel.shape[1], 100)]
                d["audio"] = np.stack([[g.mean() for g in np.array_split(c, 4, axis=0)] for c in secs])
            out.append(d)
        return out

    def encode_text(self, texts, lang):
        import torch

        rows = [[len(t), sum(map(ord, t)) % 97, t.count(" "), len(lang), ord(t[0])] for t in texts]
        return torch.tensor(rows, dtype=torch.float32)


def make_dataset(root: Path, names: list[str], name: str = "toy"):
    """A RetrievalDataset over ``root/videos/<name>.mp4`` with an English and a Hindi caption each."""
    from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord

    videos = [VideoRecord(video_id=n, path=f"videos/{n}.mp4", split="train") for n in names]
    caps = [CaptionRecord(f"{n}-{lang}", n, lang, f"{text} {n}")
            for n in names for lang, text in (("en", "a clip"), ("hi", "एक वीडियो"))]
    return RetrievalDataset(name=name, root=root, videos=videos, captions=caps)


@pytest.fixture(scope="session")
def toy_world(tmp_path_factory):
    """Ten good clips (some silent), one truncated, one non-video, one missing file."""
    root = tmp_path_factory.mktemp("toy")
    (root / "videos").mkdir()
    good = [f"v{i:02d}" for i in range(10)]
    for i, n in enumerate(good):
        write_clip(root / "videos" / f"{n}.mp4", n_frames=16 + i, seed=i,
                   tone_hz=None if i % 3 == 2 else 300.0 + 200 * i)
    write_clip(root / "videos" / "tmp.mp4", seed=99)
    truncate(root / "videos" / "tmp.mp4", root / "videos" / "broken.mp4", 0.5)
    (root / "videos" / "tmp.mp4").unlink()
    (root / "videos" / "text.mp4").write_text("not a video")
    names = good[:4] + ["broken"] + good[4:7] + ["text", "gone"] + good[7:]
    return make_dataset(root, names)


# --------------------------------------------------------------------------- tiny HF text tower
HF_WORDS = ["a", "red", "blue", "ball", "cube", "moves", "left", "right", "बायाँ", "लाल", "गेंद", "சிவப்பு",
            "பந்து", "红", "球", "ein", "roter", "Ball"]


def write_tiny_xlmr(folder: Path) -> dict[str, int]:
    """A tiny XLM-R config and a word-level ``PreTrainedTokenizerFast`` saved in ``folder``
    (what a hub snapshot of an HF text model holds: config.json + tokenizer files), built offline.

    XLM-R's special-token order (pad id 1); returns the vocabulary.
    """
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {t: i for i, t in enumerate(specials + sorted(set(HF_WORDS)))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                                pad_token="<pad>", unk_token="<unk>")
    fast.save_pretrained(folder)
    transformers.XLMRobertaConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=64, max_position_embeddings=40,
                                  pad_token_id=1, bos_token_id=0, eos_token_id=2).save_pretrained(folder)
    return vocab


def tiny_xlmr_clip_config(hf_name: str, embed_dim: int = 16) -> dict:
    """An open_clip config: a one-layer 32px ViT and the HF text tower ``hf_name`` (mean pooled)."""
    return {"embed_dim": embed_dim,
            "vision_cfg": {"image_size": 32, "patch_size": 16, "width": 32, "head_width": 16, "layers": 1},
            "text_cfg": {"hf_model_name": hf_name, "hf_tokenizer_name": hf_name, "hf_proj_type": "mlp",
                         "hf_pooler_type": "mean_pooler", "context_length": 12}}
