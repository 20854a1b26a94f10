"""Dataset manifests (``data_manifests/*.json``): what a dataset is and where its files come from.

A manifest names the dataset's languages (and the codes the release uses for them),
split sizes per protocol variant, the reader and its default arguments, the source
files with their official URLs and checksums (``sha256`` is ``null`` with a
``sha256_note`` where none is published), licence, citation, the expected file layout,
which release files the reader takes (``reads``: ``[{"file", "required", "what",
"layout"?}]``) and how ``val`` is made when the release has none. :func:`verify` hashes downloaded
files against it; :func:`fill_checksums` records the hashes of a trusted download.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path
from typing import Any

from mvkit.data.languages import normalize_lang
from mvkit.io import read_json

REQUIRED = ("name", "title", "reader", "languages", "variants", "default_variant", "sources",
            "licence", "citation", "layout", "val_policy")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def manifest_dir() -> Path:
    """``$MVKIT_MANIFESTS`` if set, else the checkout's ``data_manifests/``, else the copy a
    non-editable install (pip on Colab) puts under ``<prefix>/share/mvkit/data_manifests``."""
    env = os.environ.get("MVKIT_MANIFESTS")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "data_manifests"
    installed = Path(sys.prefix) / "share" / "mvkit" / "data_manifests"
    return checkout if checkout.is_dir() or not installed.is_dir() else installed


def list_manifests() -> list[str]:
    """Names of the shipped manifests (file stems)."""
    return sorted(p.stem for p in manifest_dir().glob("*.json"))


def validate_manifest(m: Any, source: str) -> dict:
    """Check a manifest's shape; raise ``ValueError`` naming ``source`` and the bad field."""
    from mvkit.data.readers import READERS
    if not isinstance(m, dict):
        raise ValueError(f"{source}: a manifest is a JSON object")
    missing = [k for k in REQUIRED if k not in m]
    if missing:
        raise ValueError(f"{source}: missing fields {missing}")
    if m["reader"] not in READERS:
        raise ValueError(f"{source}: unknown reader {m['reader']!r}; known: {sorted(READERS)}")
    for code in m["languages"]:
        if normalize_lang(code, source) != code:
            raise ValueError(f"{source}: 'languages' must use canonical codes; {code!r} -> "
                             f"{normalize_lang(code)!r} (put release codes under 'language_codes')")
    for release_code, canon in m.get("language_codes", {}).items():
        if normalize_lang(release_code, source) != canon or canon not in m["languages"]:
            raise ValueError(f"{source}: language_codes {release_code!r} -> {canon!r} is inconsistent")
    variants = m["variants"]
    if m["default_variant"] not in variants:
        raise ValueError(f"{source}: default_variant {m['default_variant']!r} not in variants")
    for name, v in variants.items():
        splits = v.get("splits", {})
        if "test" not in splits or ("val" not in splits and m["reader"] != "multi_msrvtt"):
            raise ValueError(f"{source}: variant {name!r} must give 'test' and 'val' split sizes")
        for split, n in splits.items():
            if n is not None and (not isinstance(n, int) or n < 0):
                raise ValueError(f"{source}: variant {name!r} split {split!r} size must be an int or null")
    for i, r in enumerate(m.get("reads", [])):
        if not (isinstance(r, dict) and isinstance(r.get("file"), str) and isinstance(r.get("what"), str)
                and isinstance(r.get("required"), bool)):
            raise ValueError(f"{source}: reads[{i}] needs 'file' and 'what' (strings) and 'required' (a bool)")
    for i, s in enumerate(m["sources"]):
        if "url" not in s or "sha256" not in s:
            raise ValueError(f"{source}: sources[{i}] needs 'url' and 'sha256' (null allowed)")
        if s["sha256"] is None and not s.get("sha256_note"):
            raise ValueError(f"{source}: sources[{i}] has sha256 null without a 'sha256_note'")
        if s["sha256"] is not None and not _HEX64.match(str(s["sha256"])):
            raise ValueError(f"{source}: sources[{i}] sha256 must be 64 lowercase hex digits")
    return m


def load_manifest(name_or_path: str | os.PathLike) -> dict:
    """A validated manifest, by shipped name (``"msrvtt"``) or by JSON path."""
    p = Path(name_or_path)
    if not (str(name_or_path).endswith(".json") and p.is_file()):
        p = manifest_dir() / f"{name_or_path}.json"
        if not p.is_file():
            raise FileNotFoundError(f"no manifest {str(name_or_path)!r}; shipped: {list_manifests()} "
                                    f"(in {manifest_dir()})")
    m = validate_manifest(read_json(p), str(p))
    m.setdefault("_path", str(p))
    return m


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (dataset archives are large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def verify(manifest: dict | str, root: str | os.PathLike, *, strict: bool = False) -> dict[str, dict]:
    """Hash every source file the manifest expects under ``root`` and compare.

    Returns ``{file: {"status", "sha256", "expected"}}`` with status ``ok``,
    ``mismatch``, ``missing`` or ``unchecked`` (no published checksum: the computed one
    is reported so it can be recorded with :func:`fill_checksums`). With ``strict``,
    any mismatch or missing file raises ``ValueError`` listing them.
    """
    m = load_manifest(manifest) if isinstance(manifest, (str, os.PathLike)) else manifest
    root = Path(root)
    report: dict[str, dict] = {}
    for s in m["sources"]:
        rel = s.get("file")
        if not rel:
            continue
        p = root / rel
        expected = s.get("sha256")
        if not p.is_file():
            report[rel] = {"status": "missing", "sha256": None, "expected": expected}
            continue
        got = sha256_file(p)
        status = "unchecked" if expected is None else ("ok" if got == expected else "mismatch")
        report[rel] = {"status": status, "sha256": got, "expected": expected}
    bad = {k: v["status"] for k, v in report.items() if v["status"] in ("mismatch", "missing")}
    if strict and bad:
        raise ValueError(f"{root}: files failing the {m['name']} manifest: {bad}")
    return report


def fill_checksums(manifest: dict, root: str | os.PathLike) -> dict:
    """A copy of ``manifest`` whose null checksums are filled from files under ``root``.

    For a download you trust; write the result with ``mvkit.io.atomic_write_json``.
    Published checksums are never overwritten (a mismatch stays a mismatch).
    """
    report = verify(manifest, root)
    out = {k: v for k, v in manifest.items() if k != "_path"}
    out["sources"] = []
    for s in manifest["sources"]:
        s = dict(s)
        r = report.get(s.get("file") or "")
        if r and r["status"] == "unchecked":
            s["sha256"] = r["sha256"]
            s["sha256_note"] = "computed locally by mvkit.data.manifests.fill_checksums (not published)"
        out["sources"].append(s)
    return out
