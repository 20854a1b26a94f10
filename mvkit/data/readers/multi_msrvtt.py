"""Multi-MSRVTT (Huang et al., NAACL 2021): MSR-VTT captions machine-translated to 8 languages.

Files under ``root`` are ``{split}_{lang}.json`` = ``{"videoXXXX.mp4": [caption, ...]}``;
the evaluation release has ``test_{lang}.json`` for the 1k-A test videos. Caption ``k``
of a video is the translation of English caption ``k``, so non-English captions are
``machine-translated`` with ``source_id`` pointing at the English one. Optional
``train_{lang}.json`` / ``val_{lang}.json`` in the same shape are read when present
(a seeded val is carved from train if only train is there).
"""
from __future__ import annotations

import re
from pathlib import Path

from mvkit.data.languages import MULTI_MSRVTT, normalize_lang
from mvkit.data.readers.common import (
    carve_val,
    drop_empty,
    fmt_ids,
    read_json,
    require_file,
    resolve_langs,
)
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord

_FILE = re.compile(r"^(train|val|test)_([A-Za-z_-]+)\.json$")


def _discover(root: Path) -> dict[str, dict[str, Path]]:
    """split -> canonical lang -> file; two files for one language are an error."""
    found: dict[str, dict[str, Path]] = {}
    for p in sorted(root.glob("*.json")):
        m = _FILE.match(p.name)
        if not m:
            continue
        split, code = m.groups()
        lang = normalize_lang(code, str(p))
        other = found.setdefault(split, {}).get(lang)
        if other is not None:
            raise ValueError(f"inconsistent language codes: {other.name} and {p.name} both hold '{lang}'")
        found[split][lang] = p
    return found


def _read_file(path: Path) -> dict[str, list[str]]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object {{'videoXXXX.mp4': [captions]}}")
    out: dict[str, list[str]] = {}
    for key, caps in data.items():
        vid = key.removesuffix(".mp4")
        if vid in out:
            raise ValueError(f"{path}: duplicate video ids: [{vid!r}] (keys with and without .mp4)")
        if isinstance(caps, str):
            caps = [caps]
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            raise ValueError(f"{path}: value of {key!r} must be a list of caption strings")
        out[vid] = caps
    return out


def read_multi_msrvtt(
    root: str | Path,
    langs: list[str] | None = None,
    *,
    val_size: int = 500,
    seed: int = 0,
    video_dir: str = "MSRVTT/videos/all",
) -> RetrievalDataset:
    """Read the Multi-MSRVTT json files under ``root`` for ``langs`` (default: all nine)."""
    root = Path(root)
    files = _discover(root)
    if "test" not in files:
        require_file(root, "test_en.json", "Multi-MSRVTT test file")
    langs = resolve_langs(langs, [l for l in MULTI_MSRVTT if l in files["test"]] or list(files["test"]),
                          str(root))
    per_split: dict[str, dict[str, dict[str, list[str]]]] = {}
    for split, by_lang in files.items():
        missing = [l for l in langs if l not in by_lang]
        if missing:
            raise FileNotFoundError(f"{root}: no {split}_<lang>.json for {missing}")
        per_split[split] = {l: _read_file(by_lang[l]) for l in langs}
    # every language must describe the same videos with the same number of captions
    for split, by_lang in per_split.items():
        ref_lang = "en" if "en" in by_lang else langs[0]
        ref = by_lang[ref_lang]
        for lang, d in by_lang.items():
            a, b = set(d) - set(ref), set(ref) - set(d)
            if a or b:
                raise ValueError(f"{files[split][lang]}: videos differ from {files[split][ref_lang].name}: "
                                 f"extra {fmt_ids(sorted(a))}, missing {fmt_ids(sorted(b))}")
            bad = [v for v in d if len(d[v]) != len(ref[v])]
            if bad:
                raise ValueError(f"{files[split][lang]}: caption counts differ from "
                                 f"{files[split][ref_lang].name} for videos {fmt_ids(sorted(bad))}")
    split_of: dict[str, str] = {}
    for split, by_lang in per_split.items():
        for vid in next(iter(by_lang.values())):
            if vid in split_of:
                raise ValueError(f"{root}: video {vid!r} is in both {split_of[vid]} and {split} files")
            split_of[vid] = split
    meta = {"languages": langs}
    if "train" in per_split and "val" not in per_split:
        train = [v for v, s in split_of.items() if s == "train"]
        _, val = carve_val(train, val_size, seed)
        split_of.update({v: "val" for v in val})
        meta["val"] = f"{val_size} videos carved from train with seed {seed}"
    elif "train" not in per_split:
        meta["val"] = "none: only test files present (zero-shot evaluation release)"
    caps, where = [], {}
    for split, by_lang in per_split.items():
        for lang, d in by_lang.items():
            for vid, texts in d.items():
                for k, text in enumerate(texts):
                    cid = f"{vid}#{lang}#{k}"
                    where[cid] = files[split][lang].name
                    mt = lang != "en"
                    caps.append(CaptionRecord(cid, vid, lang, text,
                                              kind="machine-translated" if mt else "human",
                                              source_id=f"{vid}#en#{k}" if mt and "en" in by_lang else None))
    caps = drop_empty(caps, root, where)
    videos = [VideoRecord(v, f"{video_dir}/{v}.mp4", s) for v, s in sorted(split_of.items())]
    return RetrievalDataset("multi-msrvtt", root, videos, caps, meta=meta, source=str(root))
