"""The parameters every notebook shares, defined once: which data, which encoder, which text towers.

A notebook's ``parameters`` cell lists only what that notebook varies, plus ``DATA = {}``:
overrides of :data:`DATA_DEFAULTS`. Moving a notebook to MSR-VTT with CLIP, or to a
multilingual text tower, is a change of that one dictionary, e.g.::

    DATA = {"dataset": "msrvtt", "data_root": "/data/msrvtt", "encoder": "ViT-B-32", "pretrained": "openai"}
    DATA = {"text_model": "xlm-roberta-base-ViT-B-32", "text_pretrained": "laion5b_s13b_b90k"}
    DATA = {"encoder": "ViT-B-32", "pretrained": None, "text_model": "local-dir:/towers/xlmr"}   # offline

``pretrained=None`` means random weights, seeded by ``mvkit.setup``; a ``local-dir:`` folder
(``mvkit export-encoder``) needs no network.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class DataParams:
    """What data and encoders a notebook runs on (see :data:`DATA_DEFAULTS` for the meaning)."""

    dataset: str = "embedded"
    data_root: str | None = None
    variant: str | None = None
    encoder: str = "mvkit-tiny"
    pretrained: str | None = None
    text_model: str | None = None
    text_pretrained: str | None = None
    ml_text_model: str = "mvkit-tiny-ml"
    ml_text_pretrained: str | None = None
    num_frames: int = 8
    seed: int = 0
    n_videos: int | None = None


#: dataset: "embedded" (the generated world) or a manifest name (data_manifests/, e.g. "msrvtt");
#: data_root: the folder it was downloaded to; variant: a manifest variant (e.g. MSR-VTT "9k");
#: encoder / pretrained: the frozen video-text encoder (mvkit-tiny, or any open_clip name and tag);
#: text_model / text_pretrained: a separate text tower for the captions (None: the encoder's own);
#: ml_text_model / ml_text_pretrained: the multilingual text tower of the zero-shot multilingual
#: rows, MKTVR's dual path and DCOT's judge (mvkit-tiny-ml, or e.g. xlm-roberta-base-ViT-B-32);
#: num_frames: frames sampled per clip; seed: the world's and the runs' seed; n_videos: the
#: embedded world's size (None: the default, or the smoke size under MVKIT_SMOKE=1).
DATA_DEFAULTS: dict[str, Any] = asdict(DataParams())


def data_params(overrides: Mapping[str, Any] | None = None, **more: Any) -> DataParams:
    """:class:`DataParams` from the defaults plus ``overrides`` (a notebook's ``DATA``); unknown keys fail."""
    kw = {**dict(overrides or {}), **more}
    unknown = sorted(set(kw) - set(DATA_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown data parameters {unknown}; known: {sorted(DATA_DEFAULTS)}")
    return DataParams(**{**DATA_DEFAULTS, **kw})
