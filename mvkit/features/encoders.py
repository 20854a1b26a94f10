"""Frozen video-text encoders: any open_clip model, a local checkpoint, or mvkit-tiny.

``create_encoder`` returns a :class:`VideoTextEncoder`, the one interface the feature
store, the training heads and the notebooks use (docs/DESIGN.md, "Features"). Three
video streams come out per clip, each ``[T_s, D_s]`` (frames are never pooled here, so
heads can pool them as they like):

* ``appearance`` -- per-frame image features of the CLIP image tower.
* ``motion`` -- for mvkit-tiny, its motion tower over frame pairs (the I3D analog);
  for any other open_clip model, the *consecutive differences of the per-frame
  features* ``f[t+1] - f[t]`` (``[T-1, D]``), a cheap stand-in that costs nothing
  extra. Users with real I3D/S3D features can write them into the store themselves.
* ``audio`` -- for mvkit-tiny, its audio tower over the log-mel (the SoundNet analog);
  otherwise *pooled log-mel statistics*: the log-mel is cut into ``T`` equal time
  segments and each gives the per-band mean and standard deviation (``[T, 2*n_mels]``).
  The key is absent for videos without an audio track (never zero-filled).

Text goes through the model's own tokenizer and text tower (or a separate ``text_model``
such as a multilingual open_clip text tower); NLLB towers get the NLLB language code.
"""
from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PRECISIONS = ("fp32", "fp16", "bf16", "amp")
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


# ---------------------------------------------------------------------------- frames
class FrameTransform:
    """``np.uint8 [T, H, W, 3] -> float32 Tensor [T, 3, S, S]``: resize the shorter side
    to ``S`` (bicubic, antialiased), centre-crop, scale to [0, 1] and normalise.

    A plain picklable object (no lambdas), so DataLoader workers can run it.
    """

    def __init__(self, size: int, mean: Sequence[float] = OPENAI_MEAN, std: Sequence[float] = OPENAI_STD):
        self.size = int(size)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def __call__(self, frames: np.ndarray) -> torch.Tensor:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frame_transform expects uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)
        h, w = x.shape[-2:]
        s = self.size
        if (h, w) != (s, s):
            scale = s / min(h, w)
            nh, nw = max(s, round(h * scale)), max(s, round(w * scale))
            if (nh, nw) != (h, w):
                x = F.interpolate(x, size=(nh, nw), mode="bicubic", align_corners=False, antialias=True)
                x = x.clamp_(0.0, 1.0)
            top, left = (nh - s) // 2, (nw - s) // 2
            x = x[:, :, top:top + s, left:left + s]
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return ((x - mean) / std).contiguous()

    def __repr__(self) -> str:
        return f"FrameTransform(size={self.size}, mean={self.mean}, std={self.std})"


def log_mel_statistics(log_mel: np.ndarray, segments: int) -> np.ndarray:
    """Per-segment mean and std of each mel band: ``[n_mels, L] -> float32 [segments, 2*n_mels]``.

    The time axis is cut at ``round(linspace(0, L, segments+1))``; a segment shorter than
    one column borrows its nearest column, so very short clips still give finite values.
    """
    log_mel = np.asarray(log_mel, dtype=np.float32)
    if log_mel.ndim != 2 or log_mel.shape[1] == 0:
        raise ValueError(f"log-mel must be [n_mels, L>0], got {log_mel.shape}")
    n_mels, length = log_mel.shape
    bounds = np.round(np.linspace(0, length, segments + 1)).astype(int)
    out = np.empty((segments, 2 * n_mels), dtype=np.float32)
    for i in range(segments):
        lo = min(bounds[i], length - 1)
        hi = max(bounds[i + 1], lo + 1)
        seg = log_mel[:, lo:hi]
        out[i, :n_mels] = seg.mean(axis=1)
        out[i, n_mels:] = seg.std(axis=1)
    return out


# ---------------------------------------------------------------------------- helpers
def state_dict_sha256(*modules: nn.Module | None) -> str:
    """SHA-256 over every tensor of the modules' state dicts (names, dtypes, shapes, bytes).

    Hashing the loaded weights rather than a file makes the provenance the same for the
    same weights whatever the file format, and defined for random initialisations too.
    """
    h = hashlib.sha256()
    for i, m in enumerate(modules):
        if m is None:
            continue
        for k, t in sorted(m.state_dict().items()):
            t = t.detach().cpu().contiguous()
            h.update(f"{i}:{k}:{t.dtype}:{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _pad_tokens(tokens: torch.Tensor, context_length: int | None, pad_id: int) -> torch.Tensor:
    """Right-pad token ids to the full context: open_clip's own text towers slice their
    position embeddings but not their causal mask, so shorter batches would crash."""
    if context_length is None or tokens.shape[1] >= context_length:
        return tokens
    pad = tokens.new_full((tokens.shape[0], context_length - tokens.shape[1]), pad_id)
    return torch.cat([tokens, pad], dim=1)


def _is_hf_tower(clip: nn.Module) -> bool:
    from open_clip.hf_model import HFTextEncoder

    return isinstance(getattr(clip, "text", None), HFTextEncoder)


class TextModule(nn.Module):
    """A trainable copy of an encoder's text tower: ``forward(tokens) -> [N, text_dim]``.

    For open_clip ``CustomTextCLIP`` models (HF towers, mvkit-tiny) it holds a copy of
    ``model.text``; for classic ``CLIP`` models, whose text parts sit on the model
    itself, a copy of the model without its image tower. Returned in eval mode with
    gradients enabled; call ``.train()`` to fine-tune.
    """

    def __init__(self, clip: nn.Module, context_length: int | None, pad_id: int):
        super().__init__()
        self.context_length = context_length
        self.pad_id = pad_id
        if hasattr(clip, "text"):
            self.text = copy.deepcopy(clip.text)
            self.clip = None
        else:
            visual = clip.visual
            clip.visual = None
            try:
                self.clip = copy.deepcopy(clip)
            finally:
                clip.visual = visual
            self.text = None
        for p in self.parameters():
            p.requires_grad_(True)
        self.eval()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = _pad_tokens(tokens, self.context_length, self.pad_id)
        if self.text is not None:
            return self.text(tokens)
        return self.clip.encode_text(tokens)


# ---------------------------------------------------------------------------- encoder
class VideoTextEncoder:
    """A frozen video-text encoder (see the module docstring for the streams).

    Attributes: ``name``, ``pretrained``, ``weights_sha256``, ``streams`` (stream -> dim),
    ``text_dim``, ``frame_transform``. Methods: ``encode_batch``, ``encode_text``,
    ``tokenize``, ``text_module``, ``provenance``.
    """

    def __init__(self, name: str, pretrained: str | None, clip: nn.Module, tokenizer,
                 frame_transform: FrameTransform, *, text_clip: nn.Module | None = None,
                 text_tokenizer=None, text_name: str | None = None, text_pretrained: str | None = None,
                 towers: nn.Module | None = None, device: torch.device | str = "cpu",
                 precision: str = "fp32", n_mels: int = 64, extra_provenance: dict | None = None):
        self.name = name
        self.pretrained = pretrained
        self.clip = clip.eval()
        self.text_clip = (text_clip or clip).eval()
        self.tokenizer = text_tokenizer or tokenizer
        self.text_name = text_name
        self.text_pretrained = text_pretrained
        self.towers = towers.eval() if towers is not None else None
        self.device = torch.device(device)
        self.precision = precision
        self.frame_transform = frame_transform
        self.n_mels = n_mels
        self._extra = dict(extra_provenance or {})
        self._hf_text = _is_hf_tower(self.text_clip)
        self._context_length = None if self._hf_text else getattr(self.text_clip, "context_length", None)
        self._pad_id = self._find_pad_id()
        self._nllb = "nllb" in (text_name or name).lower()
        with torch.no_grad():
            img = torch.zeros(1, 3, frame_transform.size, frame_transform.size, device=self.device)
            app_dim = int(self._image_features(img).shape[-1])
            self.text_dim = int(self.encode_text(["a"], "en").shape[-1])
        if self.towers is not None:
            d = self.towers.cfg.embed_dim
            self.streams = {"appearance": app_dim, "motion": d, "audio": d}
        else:
            self.streams = {"appearance": app_dim, "motion": app_dim, "audio": 2 * n_mels}
        self.weights_sha256 = state_dict_sha256(
            self.clip, self.text_clip if self.text_clip is not self.clip else None, self.towers)

    # -- internals --------------------------------------------------------------
    def _find_pad_id(self) -> int:
        """The id the text tower treats as padding (HF config, open_clip text cfg, tokenizer)."""
        if self._hf_text:
            return int(self.text_clip.text.config.pad_token_id)
        text = getattr(self.text_clip, "text", None)
        if text is not None and getattr(text, "pad_id", None) is not None:
            return int(text.pad_id)
        if hasattr(self.tokenizer, "pad_id"):
            return int(self.tokenizer.pad_id)
        pid = getattr(getattr(self.tokenizer, "tokenizer", None), "pad_token_id", None)
        return int(pid) if pid is not None else 0   # CLIP's SimpleTokenizer pads with 0

    def _autocast(self):
        if self.precision == "amp" and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        import contextlib

        return contextlib.nullcontext()

    def _dtype(self, module: nn.Module) -> torch.dtype:
        return next(module.parameters()).dtype

    def _image_features(self, images: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        images = images.to(self.device, self._dtype(self.clip))
        outs = []
        with self._autocast():
            for i in range(0, images.shape[0], chunk):
                outs.append(self.clip.encode_image(images[i:i + chunk]).float())
        return torch.cat(outs)

    # -- public API ---------------------------------------------------------------
    @torch.no_grad()
    def encode_batch(self, frames: torch.Tensor, log_mels: Sequence[np.ndarray | None]
                     ) -> list[dict[str, np.ndarray]]:
        """Encode ``frames [B, T, 3, S, S]`` (from ``frame_transform``) and their log-mels.

        Returns one dict per video: ``appearance [T, D]``, ``motion [T-1, D]`` and, unless
        the video is silent (``log_mels[i] is None``), ``audio [T_a, D_a]``; float32.
        """
        if frames.ndim != 5:
            raise ValueError(f"encode_batch expects frames [B, T, 3, S, S], got {tuple(frames.shape)}")
        b, t = frames.shape[:2]
        if len(log_mels) != b:
            raise ValueError(f"encode_batch got {b} videos but {len(log_mels)} log-mels")
        if t < 2:
            raise ValueError(f"encode_batch needs at least 2 frames per video for motion, got {t}")
        app = self._image_features(frames.flatten(0, 1)).view(b, t, -1)
        if self.towers is not None:
            with self._autocast():
                x = frames.to(self.device, self._dtype(self.towers))
                motion = self.towers.motion(x).float()
        else:
            motion = app[:, 1:] - app[:, :-1]
        audio = self.encode_audio(log_mels, t)
        app_np, mot_np = app.cpu().numpy(), motion.cpu().numpy()
        out = []
        for i in range(b):
            d = {"appearance": app_np[i].astype(np.float32), "motion": mot_np[i].astype(np.float32)}
            if audio[i] is not None:
                d["audio"] = audio[i].astype(np.float32)
            out.append(d)
        return out

    @torch.no_grad()
    def encode_audio(self, log_mels: Sequence[np.ndarray | None], segments: int,
                     batch: bool = False) -> list[np.ndarray | None]:
        """The audio stream of each log-mel ``[n_mels, L]`` (``None`` stays ``None``: no track).

        mvkit-tiny: its audio tower (``[8, D]``, ``segments`` unused); other encoders: the
        log-mel statistics of ``segments`` equal time segments. ``batch``: run log-mels of one
        shape through the tower in one call (clip-level features cut many equal windows).
        """
        out: list[np.ndarray | None] = [None] * len(log_mels)
        todo = [i for i, lm in enumerate(log_mels) if lm is not None]
        if self.towers is None:
            for i in todo:
                out[i] = log_mel_statistics(log_mels[i], segments)
            return out
        same = batch and len({np.shape(log_mels[i]) for i in todo}) == 1
        groups = [todo] if same and todo else [[i] for i in todo]
        for g in groups:
            x = torch.as_tensor(np.stack([np.asarray(log_mels[i], dtype=np.float32) for i in g]),
                                device=self.device)
            with self._autocast():
                res = self.towers.audio(x.to(self._dtype(self.towers))).float().cpu().numpy()
            for i, r in zip(g, res):
                out[i] = r
        return out

    def tokenize(self, texts: Sequence[str], lang: str) -> torch.Tensor:
        """Token ids ``LongTensor [N, L]`` for ``texts`` in language ``lang`` (padded to
        the tower's context; NLLB towers get the NLLB code of ``lang``)."""
        from mvkit.data.languages import LANGUAGES, normalize_lang

        texts = [texts] if isinstance(texts, str) else list(texts)
        if self._nllb and hasattr(self.tokenizer, "set_lang_fn"):
            self.tokenizer.set_language(LANGUAGES[normalize_lang(lang)].nllb)
        tokens = self.tokenizer(texts)
        return _pad_tokens(tokens, self._context_length, self._pad_id)

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str], lang: str, batch_size: int = 256) -> torch.Tensor:
        """Text features ``[N, text_dim]`` (unnormalised, float32, on CPU)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        outs = []
        for i in range(0, len(texts), batch_size):
            tok = self.tokenize(texts[i:i + batch_size], lang).to(self.device)
            with self._autocast():
                outs.append(self.text_clip.encode_text(tok).float().cpu())
        if not outs:
            return torch.zeros(0, getattr(self, "text_dim", 0))
        return torch.cat(outs)

    def text_module(self) -> TextModule:
        """A trainable copy of the text tower (``forward(tokens) -> [N, text_dim]``) for
        text fine-tuning; its output equals ``encode_text`` for the same tokens."""
        return TextModule(self.text_clip, self._context_length, self._pad_id)

    def provenance(self) -> dict:
        """Everything that identifies the features this encoder writes (checked on load)."""
        import open_clip

        p = {
            "encoder": self.name, "pretrained": self.pretrained,
            "text_model": self.text_name, "text_pretrained": self.text_pretrained,
            "weights_sha256": self.weights_sha256, "streams": dict(self.streams),
            "text_dim": self.text_dim, "precision": self.precision,
            "image_size": self.frame_transform.size, "mean": list(self.frame_transform.mean),
            "std": list(self.frame_transform.std), "open_clip_version": open_clip.__version__,
            "motion": "mvkit-tiny motion tower" if self.towers is not None else "frame-feature differences",
            "audio": "mvkit-tiny audio tower" if self.towers is not None else "log-mel segment mean+std",
        }
        p.update(self._extra)
        return p

    def __repr__(self) -> str:
        return f"VideoTextEncoder({self.name!r}, pretrained={self.pretrained!r}, streams={self.streams})"


# ---------------------------------------------------------------------------- factory
def _open_clip_model(model: str, pretrained: str | None, device, precision: str):
    """``(model, tokenizer, preprocess_cfg)`` through open_clip's normal factory."""
    import open_clip

    oc_precision = "fp32" if precision == "amp" else precision
    try:
        # pretrained=None means random weights everywhere: open_clip would otherwise fetch the
        # base weights of a Hugging Face text tower from the hub
        clip = open_clip.create_model(model, pretrained=pretrained, precision=oc_precision, device=device,
                                      pretrained_text=pretrained is not None or model.startswith("local-dir:"))
    except RuntimeError as e:
        raise ValueError(f"create_encoder: cannot build open_clip model {model!r} "
                         f"(pretrained={pretrained!r}): {e}") from e
    tokenizer = open_clip.get_tokenizer(model)
    pp = getattr(getattr(clip, "visual", None), "preprocess_cfg", {}) or {}
    return clip.eval(), tokenizer, pp


def _frame_transform_for(clip: nn.Module, pp: dict) -> FrameTransform:
    size = pp.get("size") or getattr(clip.visual, "image_size", 224)
    if isinstance(size, (tuple, list)):
        size = size[0]
    return FrameTransform(int(size), pp.get("mean", OPENAI_MEAN), pp.get("std", OPENAI_STD))


def create_encoder(model: str, pretrained: str | None = None, *, text_model: str | None = None,
                   text_pretrained: str | None = None, device: str | torch.device | None = None,
                   precision: str = "fp32") -> VideoTextEncoder:
    """Build a frozen :class:`VideoTextEncoder`.

    ``model``: ``"mvkit-tiny"`` (the shipped backbone; ``pretrained`` may name another
    CLIP checkpoint file for it, or ``"random"`` for random weights), any open_clip model
    name with a ``pretrained`` tag or local checkpoint file (``None`` = random weights),
    or ``"local-dir:/folder"`` holding ``open_clip_config.json`` and weights (a folder
    that also holds ``streams.safetensors`` is loaded as an mvkit-tiny copy).
    ``text_model``/``text_pretrained``: an optional separate open_clip model whose text
    tower encodes the captions (e.g. a multilingual tower). ``precision``: fp32, fp16,
    bf16, or amp (fp32 weights, float16 autocast on CUDA).
    """
    from mvkit import backbone as bb

    if precision not in PRECISIONS:
        raise ValueError(f"create_encoder: precision must be one of {PRECISIONS}, got {precision!r}")
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    oc_precision = "fp32" if precision == "amp" else precision

    local = model[len("local-dir:"):] if model.startswith("local-dir:") else None
    if model == bb.TINY_NAME or (local is not None and bb.has_stream_towers(local)):
        random_init = isinstance(pretrained, str) and pretrained.lower() in ("random", "none")
        # "shipped" is what provenance records for the packaged weights: accept it back, so a
        # store's provenance can rebuild its encoder (the trainer's text fine-tuning does).
        shipped = pretrained is None or str(pretrained).lower() == "shipped"
        clip_weights = None if (random_init or shipped) else pretrained
        if clip_weights is not None and not Path(clip_weights).is_file():
            raise FileNotFoundError(f"create_encoder: mvkit-tiny checkpoint {clip_weights!r} not found")
        parts = bb.load_tiny(local, clip_weights=clip_weights, device=device,
                             precision=oc_precision, random_init=random_init)
        pp = getattr(parts.clip.visual, "preprocess_cfg", {}) or {}
        text_clip = text_tok = None
        if text_model is not None:
            text_clip, text_tok, _ = _open_clip_model(text_model, text_pretrained, device, precision)
        return VideoTextEncoder(
            model, "random" if random_init else (pretrained or "shipped"), parts.clip, parts.tokenizer,
            _frame_transform_for(parts.clip, pp), text_clip=text_clip, text_tokenizer=text_tok,
            text_name=text_model, text_pretrained=text_pretrained, towers=parts.towers,
            device=device, precision=precision, n_mels=parts.towers.cfg.n_mels,
            extra_provenance={"files": [p.name for p in parts.files]})

    if pretrained is not None and not Path(str(pretrained)).exists() and "/" in str(pretrained):
        raise FileNotFoundError(f"create_encoder: checkpoint file {pretrained!r} not found")
    clip, tok, pp = _open_clip_model(model, pretrained, device, precision)
    text_clip = text_tok = None
    if text_model is not None:
        text_clip, text_tok, _ = _open_clip_model(text_model, text_pretrained, device, precision)
    from mvkit.features.audio import N_MELS

    return VideoTextEncoder(model, pretrained, clip, tok, _frame_transform_for(clip, pp),
                            text_clip=text_clip, text_tokenizer=text_tok, text_name=text_model,
                            text_pretrained=text_pretrained, device=device, precision=precision,
                            n_mels=N_MELS)
