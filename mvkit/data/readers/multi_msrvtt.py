"""Multi-MSRVTT (Huang et al., NAACL 2021): MSR-VTT captions machine-translated to 8 languages.

Two release layouts are read (``layout="json"`` or ``"c2kd"``; found by default):

* the evaluation release: ``{split}_{lang}.json`` = ``{"videoXXXX.mp4": [caption, ...]}``,
  ``test_{lang}.json`` for the 1k-A test videos (optional ``train_{lang}.json`` /
  ``val_{lang}.json`` in the same shape are read when present);
* C2KD's pickled bundle (``data/msrvtt/<features>/`` in its ``data.tar.gz``):
  ``msrvtt_train_multilingual.pkl`` and ``msrvtt_jsfusion_test_multilingual.pkl``, each a
  list of ``{"id", "2d": frame features [T, D], ...}`` with ``caption_<lang>`` lists in
  training (caption ``k`` of every language translates English caption ``k``) and one
  ``eval_caption_<lang>`` string per test video, for en de fr cs zh ru vi sw es. Pickles
  need ``allow_pickle=True``; the frame features go into a feature store with
  ``mvkit.features.imports.import_c2kd_features``.

Caption ``k`` of a video is the translation of English caption ``k``, so non-English
captions are ``machine-translated`` with ``source_id`` pointing at the English one. A
seeded val is carved from train when the release has train but no val.
"""
from __future__ import annotations

import re
from pathlib import Path

from mvkit.data.languages import MULTI_MSRVTT, normalize_lang
from mvkit.data.readers.common import (
    carve_val,
    drop_empty,
    fmt_ids,
    iter_split_clips,
    pickled_clips,
    require_file,
    resolve_langs,
    val_policy,
    warn_scripts,
)
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord
from mvkit.io import read_json

_FILE = re.compile(r"^(train|val|test)_([A-Za-z_-]+)\.json$")
C2KD_FILES = {"train": "msrvtt_train_multilingual.pkl", "test": "msrvtt_jsfusion_test_multilingual.pkl"}


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


_C2KD_KEYS = "'caption_<lang>' / 'eval_caption_<lang>'"


def c2kd_entries(path: Path, allow_pickle: bool) -> list[dict]:
    """The clip dicts of one C2KD Multi-MSRVTT pickle, checked for ids and duplicates."""
    return pickled_clips(path, allow_pickle, _C2KD_KEYS)


def _c2kd_captions(path: Path, i: int, e: dict, split: str) -> dict[str, list[str]]:
    """Canonical lang -> captions of one entry (``caption_<lang>`` lists, or ``eval_caption_<lang>``)."""
    prefix = "caption_" if split == "train" else "eval_caption_"
    out: dict[str, list[str]] = {}
    for key, val in e.items():
        if not (isinstance(key, str) and key.startswith(prefix)):
            continue
        lang = normalize_lang(key[len(prefix):], f"{path} entry [{i}] (id {e['id']!r}) key {key!r}")
        texts = [val] if isinstance(val, str) else val
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise ValueError(f"{path}: entry [{i}] (id {e['id']!r}) '{key}' must be a caption string or "
                             f"a list of them, got {type(val).__name__}")
        if lang in out:
            raise ValueError(f"{path}: entry [{i}] (id {e['id']!r}) has two keys for '{lang}' "
                             f"(inconsistent language codes)")
        out[lang] = list(texts)
    if not out:
        raise ValueError(f"{path}: entry [{i}] (id {e['id']!r}) has no '{prefix}<lang>' key")
    return out


def _read_c2kd(root: Path, langs: list[str] | None, allow_pickle: bool, files: dict[str, str],
               val_size: int, seed: int, video_dir: str) -> RetrievalDataset:
    split_of: dict[str, str] = {}
    caps, where = [], {}
    available: set[str] | None = None
    feature_keys: set[str] = set()
    paths = {split: require_file(root, rel, f"C2KD Multi-MSRVTT {split} pickle")
             for split, rel in files.items() if split == "test" or (root / rel).is_file()}
    for split, path, i, e in iter_split_clips(paths, allow_pickle, split_of, _C2KD_KEYS):
        vid = str(e["id"])
        by_lang = _c2kd_captions(path, i, e, split)
        feature_keys |= {k for k, v in e.items() if hasattr(v, "shape")}
        available = set(by_lang) if available is None else available
        missing = sorted(set(langs or available) - set(by_lang))
        if missing:
            raise ValueError(f"{path}: entry [{i}] (id {vid!r}) has no captions in {missing}")
        n = {lang: len(t) for lang, t in by_lang.items()}
        if len(set(n.values())) > 1:
            raise ValueError(f"{path}: entry [{i}] (id {vid!r}) has different caption counts per "
                             f"language {n}; caption k of every language must translate English caption k")
        for lang, texts in by_lang.items():
            for k, text in enumerate(texts):
                cid = f"{vid}#{lang}#{k}"
                where[cid] = f"{path.name} entry [{i}]"
                mt = lang != "en"
                caps.append(CaptionRecord(cid, vid, lang, text, kind="machine-translated" if mt else "human",
                                          source_id=f"{vid}#en#{k}" if mt and "en" in by_lang else None))
    keep = set(resolve_langs(langs, [l for l in MULTI_MSRVTT if l in (available or set())], str(root)))
    caps = drop_empty([c for c in caps if c.lang in keep], root, where)
    meta = {"languages": sorted(keep), "layout": "c2kd", "files": [p.name for p in paths.values()],
            "feature_keys": sorted(feature_keys),
            "val": val_policy(split_of, val_size, seed, paths.get("train", root))}
    warn_scripts(caps, root)
    videos = [VideoRecord(v, f"{video_dir}/{v}.mp4", s) for v, s in sorted(split_of.items())]
    return RetrievalDataset("multi-msrvtt", root, videos, caps, meta=meta, source=str(root))


def read_multi_msrvtt(
    root: str | Path,
    langs: list[str] | None = None,
    *,
    layout: str | None = None,
    allow_pickle: bool = False,
    c2kd_files: dict[str, str] | None = None,
    val_size: int = 500,
    seed: int = 0,
    video_dir: str = "MSRVTT/videos/all",
) -> RetrievalDataset:
    """Read Multi-MSRVTT under ``root`` for ``langs`` (default: all nine).

    ``layout``: ``"json"`` (``test_<lang>.json`` files), ``"c2kd"`` (the pickled bundle;
    ``allow_pickle=True`` needed) or None to take whichever is present.
    """
    root = Path(root)
    c2kd_files = c2kd_files or C2KD_FILES
    if layout is None:
        has_json = any(_FILE.match(p.name) for p in root.glob("*.json"))
        layout = "c2kd" if not has_json and (root / c2kd_files["test"]).is_file() else "json"
    if layout == "c2kd":
        return _read_c2kd(root, langs, allow_pickle, c2kd_files, val_size, seed, video_dir)
    if layout != "json":
        raise ValueError(f"{root}: unknown Multi-MSRVTT layout {layout!r}; choose 'json' or 'c2kd'")
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
    meta = {"languages": langs, "layout": "json"}
    if "train" in per_split and "val" not in per_split:
        train = [v for v, s in split_of.items() if s == "train"]
        _, val = carve_val(train, val_size, seed, files["train"].get("en", root))
        split_of.update({v: "val" for v in val})
        meta["val"] = f"{val_size} videos carved from train with seed {seed}" if val else "none (val_size=0)"
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
    warn_scripts(caps, root)
    videos = [VideoRecord(v, f"{video_dir}/{v}.mp4", s) for v, s in sorted(split_of.items())]
    return RetrievalDataset("multi-msrvtt", root, videos, caps, meta=meta, source=str(root))
