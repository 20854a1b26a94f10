"""One reader per dataset format; :data:`READERS` maps the names manifests use to them.

Readers are imported lazily so loading one dataset never imports the others.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

from mvkit.data.records import RetrievalDataset

# manifest "reader" name -> (module, function)
READERS: dict[str, tuple[str, str]] = {
    "msrvtt": ("mvkit.data.readers.msrvtt", "read_msrvtt"),
    "multi_msrvtt": ("mvkit.data.readers.multi_msrvtt", "read_multi_msrvtt"),
    "vatex": ("mvkit.data.readers.vatex", "read_vatex"),
    "ccr": ("mvkit.data.readers.ccr", "read_ccr"),
    "multi_youcook2": ("mvkit.data.readers.youcook", "read_multi_youcook2"),
    "rudder": ("mvkit.data.readers.rudder", "read_rudder"),
    "msvd": ("mvkit.data.readers.msvd", "read_msvd"),
    "embedded": ("mvkit.data.readers.embedded", "read_embedded"),
    # temporal grounding: captions carry ground-truth windows (CaptionRecord.spans)
    "qvhighlights": ("mvkit.data.readers.qvhighlights", "read_qvhighlights"),
    "charades_sta": ("mvkit.data.readers.charades_sta", "read_charades_sta"),
    "tacos": ("mvkit.data.readers.tacos", "read_tacos"),
}


def get_reader(name: str) -> Callable[..., RetrievalDataset]:
    """The reader function registered under ``name``."""
    if name not in READERS:
        raise ValueError(f"unknown reader {name!r}; known: {sorted(READERS)}")
    module, func = READERS[name]
    return getattr(importlib.import_module(module), func)
