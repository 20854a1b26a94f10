"""Datasets: the embedded world and readers for the real benchmarks, one record shape for all."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from mvkit.data.records import CaptionRecord, PartialLabel, RetrievalDataset, VideoRecord

__all__ = ["CaptionRecord", "PartialLabel", "RetrievalDataset", "VideoRecord", "load"]


def load(path_or_manifest: str | os.PathLike | dict, *, root: str | os.PathLike | None = None,
         variant: str | None = None, check_counts: bool = True, **kw: Any) -> RetrievalDataset:
    """Load a dataset as a :class:`RetrievalDataset`.

    * a directory holding ``world.json`` -> the embedded world (``mvkit synth`` output);
    * a manifest name (``"msrvtt"``), a manifest JSON path or a manifest dict, plus
      ``root=`` where its files were downloaded -> that dataset's reader, with the
      manifest's defaults, then the ``variant``'s (e.g. ``"7k"``), then ``**kw``
      (e.g. ``split_scheme="9k"``, ``langs=[...]``, ``allow_pickle=True``) on top.

    With ``root=`` the first argument is always a manifest (name, path or dict), so a
    folder that happens to share the manifest's name in the current directory never wins.
    With ``check_counts`` the loaded split sizes are compared with the manifest's and
    any difference is reported as a warning (real downloads often lack a few videos).

    Example (the smoke-sized embedded world; a real dataset is ``load("msrvtt", root=...)``):
        >>> from mvkit.data import load
        >>> from mvkit.data.synth import ensure_world
        >>> ds = load(ensure_world(200, seed=0))
        >>> len(ds.videos), len(ds.languages), sorted({c.kind for c in ds.captions})
        (200, 16, ['back-translated', 'human', 'machine-translated'])
    """
    from mvkit.data.manifests import load_manifest, validate_manifest
    from mvkit.data.readers import get_reader

    if not isinstance(path_or_manifest, dict):
        p = Path(path_or_manifest)
        if root is None and p.is_dir():
            if (p / "world.json").is_file():
                return get_reader("embedded")(p, **kw)
            raise FileNotFoundError(f"{p}: a directory without world.json; for a real dataset pass "
                                    f"its manifest name and root={str(p)!r}")
        manifest = load_manifest(path_or_manifest)
    else:
        manifest = validate_manifest(path_or_manifest, "manifest dict")
    if root is None:
        raise ValueError(f"{manifest['name']}: pass root= pointing at the downloaded files "
                         f"(expected layout: {manifest['layout']})")
    variants = manifest["variants"]
    if variant is None:   # a variant whose reader arguments the caller spelled out, else the default
        matching = [n for n, v in variants.items() if v.get("reader_kwargs") and
                    all(kw.get(k) == val for k, val in v["reader_kwargs"].items())]
        variant = matching[0] if matching else manifest["default_variant"]
    if variant not in variants:
        raise ValueError(f"{manifest['name']}: unknown variant {variant!r}; choose from {sorted(variants)}")
    kwargs = {**manifest.get("reader_kwargs", {}), **variants[variant].get("reader_kwargs", {}), **kw}
    ds = get_reader(manifest["reader"])(root, **kwargs)
    ds.meta.update(manifest=manifest["name"], variant=variant)
    if check_counts:
        got = ds.summary()["videos"]
        want = {s: n for s, n in variants[variant]["splits"].items() if n is not None}
        diff = {s: (got.get(s, 0), n) for s, n in want.items() if got.get(s, 0) != n}
        if diff:
            from mvkit.data.readers.common import DataWarning
            warnings.warn(f"{manifest['name']} ({variant}) at {root}: split sizes differ from the "
                          f"manifest (loaded, expected): {diff}", DataWarning, stacklevel=2)
    return ds
