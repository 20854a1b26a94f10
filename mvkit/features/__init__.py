"""Decode each video once, encode it with a frozen encoder, cache the features.

Training and evaluation read the cache (:func:`open_store`) instead of re-decoding
videos every epoch. Names are imported lazily so ``import mvkit.features`` stays cheap
(no torch until an encoder or the extractor is used).
"""
from __future__ import annotations

import importlib
from typing import Any

# name -> module it lives in (keep __all__ below in step)
_EXPORTS = {
    "decode_clip": "mvkit.features.decode",
    "sample_indices": "mvkit.features.decode",
    "DecodedClip": "mvkit.features.decode",
    "CorruptVideoError": "mvkit.features.decode",
    "log_mel": "mvkit.features.audio",
    "open_store": "mvkit.features.store",
    "FeatureStore": "mvkit.features.store",
    "StoreWriter": "mvkit.features.store",
    "ProvenanceMismatch": "mvkit.features.store",
    "extract_features": "mvkit.features.extract",
    "extract_text_features": "mvkit.features.extract",
    "ensure_store": "mvkit.features.extract",
    "create_encoder": "mvkit.features.encoders",
    "import_featuredata": "mvkit.features.imports",
    "import_c2kd_features": "mvkit.features.imports",
    "export_encoder": "mvkit.features.export",
    "HubUnavailable": "mvkit.features.hub",
}

__all__ = [
    "CorruptVideoError",
    "DecodedClip",
    "FeatureStore",
    "HubUnavailable",
    "ProvenanceMismatch",
    "StoreWriter",
    "create_encoder",
    "decode_clip",
    "ensure_store",
    "export_encoder",
    "extract_features",
    "extract_text_features",
    "import_c2kd_features",
    "import_featuredata",
    "log_mel",
    "open_store",
    "sample_indices",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mvkit.features' has no attribute {name!r}")
