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
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mvkit.io import naming_load_errors

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
    """Right-pad token ids to the full context (for towers whose forward needs all of it)."""
    if context_length is None or tokens.shape[1] >= context_length:
        return tokens
    pad = tokens.new_full((tokens.shape[0], context_length - tokens.shape[1]), pad_id)
    return torch.cat([tokens, pad], dim=1)


def trim_padding(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Drop the trailing columns that are padding in every row (at least one column stays)."""
    used = (tokens != pad_id).any(0).nonzero()
    n = int(used.max()) + 1 if len(used) else 1
    return tokens[:, :n]


def _is_hf_tower(clip: nn.Module) -> bool:
    from open_clip.hf_model import HFTextEncoder

    return isinstance(getattr(clip, "text", None), HFTextEncoder)


def _causal_pool(tower: nn.Module, attn_mask_attr: str, pool_attr: str) -> bool:
    """A tower whose features ignore everything after the pooled token: a causal mask and an
    EOS / argmax pool (CLIP's text transformer). Padding after it changes nothing."""
    return getattr(tower, attn_mask_attr, None) is not None and getattr(tower, pool_attr, None) in ("argmax", "eos")


def trimmable_text(clip: nn.Module) -> bool:
    """True if the text tower of ``clip`` gives the same features for tokens padded to the
    batch's longest caption as for tokens padded to the full context.

    HF towers mask padding themselves; open_clip's causal towers with an EOS / argmax pool
    never look past the pooled token. Other towers (non-causal, 'last' or 'first' pooling,
    CoCa's appended class token) keep the full context.
    """
    if _is_hf_tower(clip) or getattr(clip, "pads_freely", False):
        return True
    text = getattr(clip, "text", None)
    if text is not None:
        return (getattr(text, "cls_emb", None) is None and not getattr(text, "use_pad_mask", False)
                and not getattr(text, "output_tokens", False) and _causal_pool(text, "attn_mask", "pool_type"))
    return _causal_pool(clip, "attn_mask", "text_pool_type")


def _trimmed_causal_forward(embedding: nn.Module, positions: torch.Tensor, transformer: nn.Module,
                            attn_mask: torch.Tensor, ln_final: nn.Module, projection, pool_type: str,
                            eos_id: int | None, tokens: torch.Tensor) -> torch.Tensor:
    """CLIP's text forward on tokens shorter than the context: the position embeddings *and*
    the causal mask are sliced to the batch's length (open_clip slices only the former)."""
    from open_clip.transformer import text_global_pool

    n = tokens.shape[1]
    cast = transformer.get_cast_dtype()
    x = embedding(tokens).to(cast) + positions[:n].to(cast)
    x = ln_final(transformer(x, attn_mask=attn_mask[:n, :n]))
    x = text_global_pool(x, tokens, pool_type, eos_token_id=eos_id)
    if projection is None:
        return x
    return projection(x) if isinstance(projection, nn.Linear) else x @ projection


def pack_captions(tokens: torch.Tensor, pad_id: int, context: int) -> tuple[torch.Tensor, ...]:
    """Pack right-padded captions ``[B, L]`` into rows of ``context`` tokens, first fit in order.

    Returns ``(ids [R, C], positions [R, C], segment [R, C], where (row, col) of each caption's
    first token)``; ``segment`` is the caption's index + 1 (0 for padding). Each caption keeps
    its own positions 0..n-1, so a block-diagonal causal mask gives exactly its own features.
    """
    lengths = (tokens != pad_id).sum(1).clamp_min(1).tolist()
    rows: list[int] = []
    cols: list[int] = []
    fill: list[int] = []
    for n in lengths:
        row = next((k for k, f in enumerate(fill) if f + n <= context), len(fill))
        if row == len(fill):
            fill.append(0)
        rows.append(row)
        cols.append(fill[row])
        fill[row] += n
    r, dev = len(fill), tokens.device
    where = torch.tensor([rows, cols], dtype=torch.long, device=dev)
    n = torch.tensor(lengths, dtype=torch.long, device=dev)
    # one scatter for every token: caption i's k-th token goes to (rows[i], cols[i] + k)
    cap = torch.repeat_interleave(torch.arange(len(lengths), device=dev), n)
    k = torch.arange(len(cap), device=dev) - torch.repeat_interleave(n.cumsum(0) - n, n)
    r_tok, c_tok = where[0, cap], where[1, cap] + k
    ids = tokens.new_full((r, context), pad_id)
    pos = torch.zeros(r, context, dtype=torch.long, device=dev)
    seg = torch.zeros(r, context, dtype=torch.long, device=dev)
    ids[r_tok, c_tok] = tokens[cap, k]
    pos[r_tok, c_tok] = k
    seg[r_tok, c_tok] = cap + 1
    return ids, pos, seg, where


def _packed_causal_forward(embedding: nn.Module, positions: torch.Tensor, transformer: nn.Module, heads: int,
                           ln_final: nn.Module, projection, pool_type: str, eos_id: int | None, pad_id: int,
                           tokens: torch.Tensor) -> torch.Tensor:
    """CLIP's causal text forward on *packed* captions: several short captions share a row of the
    context, each attending only to its own earlier tokens (block-diagonal causal mask) at its
    own positions, so the features equal the unpacked ones while padding costs nothing."""
    from open_clip.transformer import text_global_pool

    context = positions.shape[0]
    ids, pos, seg, where = pack_captions(tokens, pad_id, context)
    cast = transformer.get_cast_dtype()
    x = embedding(ids).to(cast) + positions[pos].to(cast)
    n = ids.shape[1]
    causal = torch.ones(n, n, dtype=torch.bool, device=ids.device).tril()
    allowed = (seg[:, :, None] == seg[:, None, :]) & causal
    allowed |= torch.eye(n, dtype=torch.bool, device=ids.device)          # padding attends to itself
    mask = torch.zeros(allowed.shape, dtype=x.dtype, device=x.device).masked_fill_(~allowed, float("-inf"))
    x = ln_final(transformer(x, attn_mask=mask.repeat_interleave(heads, dim=0)))
    # the pooled token of each caption: its EOS (or its largest id, CLIP's argmax rule)
    pool_at = text_global_pool(torch.arange(tokens.shape[1], device=tokens.device).expand(len(tokens), -1)
                               .unsqueeze(-1).float(), tokens, pool_type, eos_token_id=eos_id).squeeze(-1).long()
    x = x[where[0], where[1] + pool_at]
    if projection is None:
        return x
    return projection(x) if isinstance(projection, nn.Linear) else x @ projection


def _causal_parts(clip: nn.Module) -> tuple:
    """(embedding, positions, transformer, heads, ln_final, projection, pool type, eos id) of a causal tower."""
    text = getattr(clip, "text", None)
    if text is not None:
        return (text.token_embedding, text.positional_embedding, text.transformer,
                text.transformer.resblocks[0].attn.num_heads, text.ln_final, text.text_projection, text.pool_type,
                getattr(text, "eos_id", None))
    return (clip.token_embedding, clip.positional_embedding, clip.transformer,
            clip.transformer.resblocks[0].attn.num_heads, clip.ln_final, clip.text_projection, clip.text_pool_type,
            getattr(clip, "text_eos_id", None))


def encode_text_tokens(clip: nn.Module, tokens: torch.Tensor, trimmed: bool) -> torch.Tensor:
    """Text features of ``clip`` for ``tokens``: through the trimmed forward when the tokens are
    shorter than the context (``trimmed``, towers of :func:`trimmable_text` only), else the
    tower's own ``encode_text``."""
    text = getattr(clip, "text", None)
    if not trimmed or _is_hf_tower(clip) or getattr(clip, "pads_freely", False):
        return clip.encode_text(tokens) if hasattr(clip, "encode_text") else text(tokens)
    if text is not None:
        return _trimmed_causal_forward(text.token_embedding, text.positional_embedding, text.transformer,
                                       text.attn_mask, text.ln_final, text.text_projection, text.pool_type,
                                       getattr(text, "eos_id", None), tokens)
    return _trimmed_causal_forward(clip.token_embedding, clip.positional_embedding, clip.transformer,
                                   clip.attn_mask, clip.ln_final, clip.text_projection, clip.text_pool_type,
                                   getattr(clip, "text_eos_id", None), tokens)


#: on CPU, the most padded tokens a batch of :meth:`VideoTextEncoder.encode_text` holds
CPU_BATCH_TOKENS = 2048


def _text_batches(tokens: torch.Tensor, pad_id: int, batch_size: int, max_tokens: int | None,
                  by_length: bool) -> list[torch.Tensor]:
    """Row indices of each batch: input order in ``batch_size`` slices, or (``by_length``) rows
    sorted by length, each batch at most ``batch_size`` rows and ``max_tokens`` padded tokens."""
    if not by_length:
        return [torch.arange(i, min(i + batch_size, len(tokens))) for i in range(0, len(tokens), batch_size)]
    lengths = (tokens != pad_id).sum(1).clamp_min(1)
    order = torch.argsort(lengths, stable=True)
    sorted_len = lengths[order].tolist()
    out, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < batch_size and (
                max_tokens is None or (end - start + 1) * sorted_len[end] <= max_tokens):
            end += 1
        out.append(order[start:end])
        start = end
    return out


class TextModule(nn.Module):
    """A trainable copy of an encoder's text tower: ``forward(tokens) -> [N, text_dim]``.

    For open_clip ``CustomTextCLIP`` models (HF towers, mvkit-tiny) it holds a copy of
    ``model.text``; for classic ``CLIP`` models, whose text parts sit on the model itself, a
    copy of the model without its image tower. Tokens may be padded to the batch's longest
    caption for towers where that changes nothing (:func:`trimmable_text`; most of the cost
    of a short caption is its padding), and causal towers pack several short captions into
    one row of the context (:func:`pack_captions`, same features); other towers get them
    padded to the full context.
    Returned in eval mode with gradients enabled; call ``.train()`` to fine-tune.
    """

    def __init__(self, clip: nn.Module, context_length: int | None, pad_id: int):
        super().__init__()
        self.context_length = context_length
        self.pad_id = pad_id
        self.trimmable = trimmable_text(clip)
        self.pads_freely = bool(getattr(clip, "pads_freely", False))
        # causal towers with an EOS / argmax pool can also pack several captions into one row
        self.packable = self.trimmable and not _is_hf_tower(clip) and not self.pads_freely and context_length is not None
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
        if not self.trimmable:
            tokens = _pad_tokens(tokens, self.context_length, self.pad_id)
        owner = self if self.text is not None else self.clip
        if self.packable and len(tokens) > 1:
            used = int((tokens != self.pad_id).sum())
            if used < 0.75 * tokens.numel():        # padding would be a quarter of the work or more
                emb, pos, tr, heads, ln, proj, pool, eos = _causal_parts(owner)
                return _packed_causal_forward(emb, pos, tr, heads, ln, proj, pool, eos, self.pad_id, tokens)
        short = self.context_length is not None and tokens.shape[1] < self.context_length
        return encode_text_tokens(owner, tokens, short)


class TextTokenizer:
    """The tokenizer of an encoder's text tower, as the trainable text side needs it.

    ``tok.tokenize(texts, lang) -> LongTensor [N, L]`` padded to the longest caption of the call when
    the tower allows it (else to its context), plus what a bag of tokens must know:
    ``pad_id``, ``unk_id`` (None for byte-level vocabularies), ``special_ids`` (ids that
    carry no content: pad, begin/end of text) and ``vocab_size``. ``identity`` names the
    vocabulary (checkpoints record it).
    """

    def __init__(self, encoder: VideoTextEncoder):
        self._encoder = encoder
        self.pad_id = encoder.pad_id
        self.unk_id = encoder.unk_id
        self.special_ids = encoder.special_ids
        self.vocab_size = encoder.vocab_size
        self.identity = encoder.tokenizer_identity

    def tokenize(self, texts: Sequence[str], lang: str) -> torch.Tensor:
        return self._encoder.tokenize(texts, lang)


# ---------------------------------------------------------------------------- encoder
class VideoTextEncoder:
    """A frozen video-text encoder (see the module docstring for the streams).

    Attributes: ``name``, ``pretrained``, ``weights_sha256``, ``streams`` (stream -> dim),
    ``text_dim``, ``frame_transform``, ``seed`` and ``random_parts`` (``"video"``: the model,
    ``"text"``: a separate text tower, initialised at random from ``seed``). Methods:
    ``encode_batch``, ``encode_text``, ``tokenize``, ``text_module``, ``with_text_model``,
    ``provenance``.
    """

    def __init__(self, name: str, pretrained: str | None, clip: nn.Module, tokenizer: Any,
                 frame_transform: FrameTransform, *, text_clip: nn.Module | None = None,
                 text_tokenizer: Any=None, text_name: str | None = None, text_pretrained: str | None = None,
                 towers: nn.Module | None = None, device: torch.device | str = "cpu",
                 precision: str = "fp32", n_mels: int = 64, extra_provenance: dict | None = None,
                 seed: int = 0, random_parts: Sequence[str] = ()):
        self.name = name
        self.seed = int(seed)              # what random parts (this one's or a later text tower's) start from
        self.random_parts = tuple(sorted(set(random_parts)))    # "video" (the model), "text" (a separate tower)
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
        self._trimmable = trimmable_text(self.text_clip)
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
        # the weights behind the video streams only: two encoders that differ in their text
        # tower alone (a multilingual text_model) share video features
        self.video_weights_sha256 = state_dict_sha256(getattr(self.clip, "visual", self.clip), self.towers)

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

    def tokenize(self, texts: Sequence[str], lang: str, full_context: bool = False) -> torch.Tensor:
        """Token ids ``LongTensor [N, L]`` for ``texts`` in language ``lang`` (NLLB towers get
        the NLLB code of ``lang``).

        Padded to the longest caption of the call where the tower gives the same features
        that way (:func:`trimmable_text`), else (or with ``full_context``) to its context.
        """
        from mvkit.data.languages import LANGUAGES, normalize_lang

        texts = [texts] if isinstance(texts, str) else list(texts)
        if self._nllb and hasattr(self.tokenizer, "set_lang_fn"):
            self.tokenizer.set_language(LANGUAGES[normalize_lang(lang)].nllb)
        tokens = self.tokenizer(texts)
        if self._trimmable and not full_context:
            return trim_padding(tokens, self._pad_id)
        return _pad_tokens(tokens, self._context_length, self._pad_id)

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str], lang: str, batch_size: int = 256,
                    max_batch_tokens: int | None = CPU_BATCH_TOKENS) -> torch.Tensor:
        """Text features ``[N, text_dim]`` (unnormalised, float32, on CPU), in input order.

        Each distinct caption is tokenised and encoded once. Where padding changes nothing
        (:func:`trimmable_text`) captions are sorted by length and batched so that a batch
        is cut to its own longest caption: a short caption costs its tokens rather than the
        full context. On CPU a batch also holds at most ``max_batch_tokens`` padded tokens
        (cost per token is flat there, so narrower batches only pad less); on CUDA batches
        are ``batch_size`` captions.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return torch.zeros(0, getattr(self, "text_dim", 0))
        index: dict[str, int] = {}
        where = torch.tensor([index.setdefault(t, len(index)) for t in texts])
        tokens = self.tokenize(list(index), lang)
        budget = max_batch_tokens if self.device.type == "cpu" else None
        out = torch.empty(len(index), 0)
        for rows in _text_batches(tokens, self._pad_id, batch_size, budget if self._trimmable else None,
                                  self._trimmable):
            tok = tokens[rows]
            tok = (trim_padding(tok, self._pad_id) if self._trimmable else tok).to(self.device)
            short = self._context_length is not None and tok.shape[1] < self._context_length
            with self._autocast():
                feats = encode_text_tokens(self.text_clip, tok, short).float().cpu()
            if out.shape[1] == 0:
                out = torch.empty(len(index), feats.shape[1])
            out[rows] = feats
        return out[where]

    def text_module(self) -> TextModule:
        """A trainable copy of the text tower (``forward(tokens) -> [N, text_dim]``) for
        text fine-tuning; its output equals ``encode_text`` for the same tokens."""
        return TextModule(self.text_clip, self._context_length, self._pad_id)

    def text_tokenizer(self) -> TextTokenizer:
        """The text tower's tokenizer with its special ids (what a trainable text side needs)."""
        return TextTokenizer(self)

    @property
    def pad_id(self) -> int:
        return self._pad_id

    @property
    def unk_id(self) -> int | None:
        """Id of the unknown token (None for byte-level vocabularies, which have none)."""
        tok = self.tokenizer
        if hasattr(tok, "tokenizer") and hasattr(tok.tokenizer, "token_to_id"):      # mvkit-tiny
            return tok.tokenizer.token_to_id("[UNK]")
        hf = getattr(tok, "tokenizer", None)
        return getattr(hf, "unk_token_id", None)

    @property
    def special_ids(self) -> tuple[int, ...]:
        """Ids that carry no content: padding, begin / end of text, class / separator tokens."""
        tok, ids = self.tokenizer, {self._pad_id}
        inner = getattr(tok, "tokenizer", None)
        if inner is not None and hasattr(inner, "token_to_id"):                     # mvkit-tiny
            ids |= {inner.token_to_id(t) for t in ("[PAD]", "[BOS]", "[EOS]")}
        elif inner is not None and hasattr(inner, "all_special_ids"):               # Hugging Face
            ids |= set(inner.all_special_ids) - {getattr(inner, "unk_token_id", None)}
        for attr in ("sot_token_id", "eot_token_id"):                               # CLIP BPE
            if getattr(tok, attr, None) is not None:
                ids.add(int(getattr(tok, attr)))
        return tuple(sorted(i for i in ids if i is not None))

    @property
    def vocab_size(self) -> int:
        return int(self.token_embeddings().shape[0])

    @property
    def tokenizer_identity(self) -> str:
        """A short hash of the tokenizer's vocabulary (so a checkpoint can name the one it used)."""
        tok = self.tokenizer
        inner = getattr(tok, "tokenizer", None)
        if inner is not None and hasattr(inner, "get_vocab"):
            vocab = inner.get_vocab()
        else:
            vocab = getattr(tok, "encoder", None) or {}
        h = hashlib.sha256(type(tok).__name__.encode())
        for k, v in sorted(vocab.items(), key=lambda kv: kv[1]):
            h.update(f"{v}:{k}\n".encode())
        return h.hexdigest()[:16]

    def token_embeddings(self) -> torch.Tensor:
        """The text tower's input token embedding table ``[vocab, width]`` (a detached copy)."""
        clip = self.text_clip
        text = getattr(clip, "text", None)
        if self._hf_text:
            table = text.transformer.get_input_embeddings().weight
        elif text is not None and hasattr(text, "token_embedding"):
            table = text.token_embedding.weight
        elif text is not None and hasattr(text, "unigrams"):            # a bag of tokens (mvkit-tiny-ml)
            table = text.unigrams.weight
        elif hasattr(clip, "token_embedding"):
            table = clip.token_embedding.weight
        else:
            raise ValueError(f"{self.text_name or self.name}: no token embedding table to start a bag of tokens from")
        return table.detach().float().cpu().clone()

    def with_text_model(self, text_model: str, text_pretrained: str | None = None) -> VideoTextEncoder:
        """This encoder with another text tower (e.g. ``"mvkit-tiny-ml"``): the video side is
        the same objects, never rebuilt, so its video features stay valid. A random text tower
        starts from this encoder's ``seed``, whatever the process's seed is by now."""
        text_clip, text_tok, random_text = _text_tower(text_model, text_pretrained, self.device, self.precision,
                                                       self.seed)
        parts = [p for p in self.random_parts if p == "video"] + (["text"] if random_text else [])
        return VideoTextEncoder(self.name, self.pretrained, self.clip, self.tokenizer, self.frame_transform,
                                text_clip=text_clip, text_tokenizer=text_tok, text_name=text_model,
                                text_pretrained=text_pretrained, towers=self.towers, device=self.device,
                                precision=self.precision, n_mels=self.n_mels, extra_provenance=self._extra,
                                seed=self.seed, random_parts=parts)

    def provenance(self) -> dict:
        """Everything that identifies the features this encoder writes (checked on load)."""
        import open_clip

        p = {
            "encoder": self.name, "pretrained": self.pretrained,
            "text_model": self.text_name, "text_pretrained": self.text_pretrained,
            "weights_sha256": self.weights_sha256, "video_weights_sha256": self.video_weights_sha256,
            "streams": dict(self.streams),
            "text_dim": self.text_dim, "precision": self.precision,
            "image_size": self.frame_transform.size, "mean": list(self.frame_transform.mean),
            "std": list(self.frame_transform.std), "open_clip_version": open_clip.__version__,
            "motion": "mvkit-tiny motion tower" if self.towers is not None else "frame-feature differences",
            "audio": "mvkit-tiny audio tower" if self.towers is not None else "log-mel segment mean+std",
        }
        if self.random_parts:      # rebuilt in a new process from this seed (encoder_from_identity)
            p.update(init_seed=self.seed, random_parts=list(self.random_parts))
        p.update(self._extra)
        return p

    def __repr__(self) -> str:
        return f"VideoTextEncoder({self.name!r}, pretrained={self.pretrained!r}, streams={self.streams})"


# ---------------------------------------------------------------------------- factory
def _open_clip_model(model: str, pretrained: str | None, device, precision: str, seed: int):
    """``(model, tokenizer, preprocess_cfg)`` through open_clip's normal factory.

    Hub lookups run offline first (:func:`mvkit.features.hub.offline_first`): a model whose files
    are neither cached nor reachable fails at once with one line saying what to do. A
    ``local-dir:`` folder is checked for the layout traps first
    (:func:`~mvkit.features.local_dir.check_local_dir`). Random parts are initialised from
    ``seed`` (:func:`mvkit._setup.seeded_init`).
    """
    import open_clip

    from mvkit._setup import seeded_init
    from mvkit.features.hub import HubUnavailable, offline_first

    oc_precision = "fp32" if precision == "amp" else precision
    kw: dict[str, Any] = {}
    needs: list[str] = []               # what the hub would have to supply (for the offline error)
    if model.startswith("local-dir:"):
        from mvkit.features.local_dir import check_local_dir

        text_cfg = check_local_dir(model[len("local-dir:"):])
        if text_cfg is not None:
            kw["text_cfg"] = text_cfg
    elif not model.startswith("hf-hub:"):            # (an hf-hub: config is itself a hub file)
        hf_name = ((open_clip.get_model_config(model) or {}).get("text_cfg") or {}).get("hf_model_name")
        if hf_name:
            needs.append(f"the config and tokenizer of {hf_name!r}")
        if pretrained and not Path(pretrained).is_file():
            needs.append(f"the weights {pretrained!r}")

    def build():
        with seeded_init(seed):
            # pretrained=None means random weights everywhere: open_clip would otherwise fetch the
            # base weights of a Hugging Face text tower from the hub; a local-dir folder holds its own
            clip = open_clip.create_model(model, pretrained=pretrained, precision=oc_precision, device=device,
                                          pretrained_text=pretrained is not None and not model.startswith("local-dir:"),
                                          **kw)
        return clip, open_clip.get_tokenizer(model)

    try:
        clip, tokenizer = offline_first(build, f"open_clip model {model!r} (pretrained={pretrained!r})",
                                        " and ".join(needs))
    except HubUnavailable:
        raise
    except (RuntimeError, OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"create_encoder: cannot build open_clip model {model!r} "
                         f"(pretrained={pretrained!r}): {first}") from e
    pp = getattr(getattr(clip, "visual", None), "preprocess_cfg", {}) or {}
    return clip.eval(), tokenizer, pp


def _random_open_clip(model: str, pretrained: str | None) -> bool:
    """True if building ``model`` with ``pretrained`` initialises weights at random (no file, tag or folder)."""
    return pretrained is None and not model.startswith("local-dir:")


def _text_tower(text_model: str, text_pretrained: str | None, device, precision: str, seed: int):
    """``(tower, tokenizer, random)`` of a separate text tower: the shipped multilingual
    ``mvkit-tiny-ml`` (or a folder holding one), else any open_clip model's text side;
    ``random`` says whether its weights were initialised from ``seed``."""
    from mvkit.backbone import multilingual as ml

    folder = text_model[len("local-dir:"):] if text_model.startswith("local-dir:") else None
    if text_model == ml.ML_NAME or (folder is not None and ml.is_multilingual_dir(folder)):
        if text_pretrained not in (None, "shipped") and folder is None:
            folder = text_pretrained
        return (*ml.load_multilingual(folder, device), False)
    clip, tok, _ = _open_clip_model(text_model, text_pretrained, device, precision, seed)
    return clip, tok, _random_open_clip(text_model, text_pretrained)


def _frame_transform_for(clip: nn.Module, pp: dict) -> FrameTransform:
    size = pp.get("size") or getattr(clip.visual, "image_size", 224)
    if isinstance(size, (tuple, list)):
        size = size[0]
    return FrameTransform(int(size), pp.get("mean", OPENAI_MEAN), pp.get("std", OPENAI_STD))


def create_encoder(model: str, pretrained: str | None = None, *, text_model: str | None = None,
                   text_pretrained: str | None = None, device: str | torch.device | None = None,
                   precision: str = "fp32", seed: int | None = None) -> VideoTextEncoder:
    """Build a frozen :class:`VideoTextEncoder`.

    ``model``: ``"mvkit-tiny"`` (the shipped backbone; ``pretrained`` may name another
    CLIP checkpoint file for it, or ``"random"`` for random weights), any open_clip model
    name with a ``pretrained`` tag or local checkpoint file (``None`` = random weights),
    or ``"local-dir:/folder"`` holding ``open_clip_config.json`` and weights (a folder
    that also holds ``streams.safetensors`` is loaded as an mvkit-tiny copy).
    ``text_model``/``text_pretrained``: an optional separate text tower that encodes the
    captions: ``"mvkit-tiny-ml"`` (the shipped multilingual tower distilled onto mvkit-tiny's
    English text space; ``text_pretrained`` may name a rebuilt folder), or any open_clip
    model's text tower (e.g. ``xlm-roberta-base-ViT-B-32``). ``precision``: fp32, fp16,
    bf16, or amp (fp32 weights, float16 autocast on CUDA). ``seed``: where weights are
    random (``pretrained=None``, ``"random"``), they are initialised from this seed (None: the
    seed of the last ``mvkit.setup``, 0 before any), so the same call gives the same weights;
    building never moves the caller's random stream. Offline, a model whose hub files are not
    cached fails at once (:class:`mvkit.features.hub.HubUnavailable`); ``local-dir:`` folders
    (``mvkit export-encoder``) need no hub.

    Example:
        >>> from mvkit.features.encoders import create_encoder
        >>> enc = create_encoder("mvkit-tiny", device="cpu")             # the shipped backbone
        >>> enc.streams, enc.text_dim, tuple(enc.encode_text(["a red circle"], "en").shape)
        ({'appearance': 128, 'motion': 128, 'audio': 128}, 128, (1, 128))
        >>> create_encoder("mvkit-tiny", text_model="mvkit-tiny-ml").provenance()["text_model"]
        'mvkit-tiny-ml'
    """
    from mvkit import backbone as bb
    from mvkit._setup import init_seed, seeded_init

    seed = init_seed() if seed is None else int(seed)
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
        with seeded_init(seed):
            parts = bb.load_tiny(local, clip_weights=clip_weights, device=device,
                                 precision=oc_precision, random_init=random_init)
        pp = getattr(parts.clip.visual, "preprocess_cfg", {}) or {}
        text_clip = text_tok = None
        random_text = False
        if text_model is not None:
            text_clip, text_tok, random_text = _text_tower(text_model, text_pretrained, device, precision, seed)
        return VideoTextEncoder(
            model, "random" if random_init else (pretrained or "shipped"), parts.clip, parts.tokenizer,
            _frame_transform_for(parts.clip, pp), text_clip=text_clip, text_tokenizer=text_tok,
            text_name=text_model, text_pretrained=text_pretrained, towers=parts.towers,
            device=device, precision=precision, n_mels=parts.towers.cfg.n_mels,
            extra_provenance={"files": [p.name for p in parts.files]}, seed=seed,
            random_parts=(["video"] if random_init else []) + (["text"] if random_text else []))

    if pretrained is not None and not Path(str(pretrained)).exists() and "/" in str(pretrained):
        raise FileNotFoundError(f"create_encoder: checkpoint file {pretrained!r} not found")
    if pretrained is not None and Path(str(pretrained)).is_file():
        with naming_load_errors(pretrained):     # a truncated or corrupt file names itself
            clip, tok, pp = _open_clip_model(model, pretrained, device, precision, seed)
    else:
        clip, tok, pp = _open_clip_model(model, pretrained, device, precision, seed)
    text_clip = text_tok = None
    random_text = False
    if text_model is not None:
        text_clip, text_tok, random_text = _text_tower(text_model, text_pretrained, device, precision, seed)
    from mvkit.features.audio import N_MELS

    return VideoTextEncoder(model, pretrained, clip, tok, _frame_transform_for(clip, pp),
                            text_clip=text_clip, text_tokenizer=text_tok, text_name=text_model,
                            text_pretrained=text_pretrained, device=device, precision=precision,
                            n_mels=N_MELS, seed=seed,
                            random_parts=(["video"] if _random_open_clip(model, pretrained) else [])
                            + (["text"] if random_text else []))


def encoder_from_identity(identity: dict, device: str | torch.device | None = None, where: str = "") -> VideoTextEncoder:
    """Rebuild the encoder a store or checkpoint names (``encoder``, ``pretrained``, ``text_model``,
    ``text_pretrained``) and check it has the recorded ``weights_sha256``.

    Used only where the encoder object cannot be passed down (a new process); a mismatch
    is an error, never silently other features. Random weights are built again from their
    recorded ``init_seed``. A store's provenance holds the encoder's own under
    ``encoder_provenance`` (with the text tower and seed), read too.
    """
    identity = {**(identity.get("encoder_provenance") or {}), **identity}
    if not identity.get("encoder"):
        raise ValueError(f"{where}: no encoder recorded; pass the encoder explicitly")
    enc = create_encoder(identity["encoder"], identity.get("pretrained"), text_model=identity.get("text_model"),
                         text_pretrained=identity.get("text_pretrained"), device=device or "cpu",
                         seed=identity.get("init_seed"))
    want = identity.get("weights_sha256")
    if want and enc.weights_sha256 != want:
        raise ValueError(f"{where}: recorded encoder {identity['encoder']!r} had weights {str(want)[:12]}, but "
                         f"building it again gives {enc.weights_sha256[:12]}; pass the encoder object it used")
    return enc


def encoder_for_store(store: object, encoder: VideoTextEncoder | None = None,
                      device: str | torch.device | None = None) -> VideoTextEncoder:
    """The feature encoder of ``store``: ``encoder`` if given (checked against the store's weights
    hash), else rebuilt from the store's provenance (checked the same way)."""
    prov = dict(getattr(store, "provenance", None) or {})
    where = str(getattr(store, "path", "") or "feature store")
    if encoder is None:
        return encoder_from_identity(prov, device=device, where=where)
    want = prov.get("weights_sha256")
    if want and encoder.weights_sha256 != want:
        raise ValueError(f"{where}: features were extracted with weights {str(want)[:12]}, the encoder given has "
                         f"{encoder.weights_sha256[:12]}")
    return encoder
