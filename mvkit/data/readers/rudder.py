"""RUDDER (Akula et al., 2021): video retrieval with text and spoken captions in Indian languages.

Three layouts are read (``layout="original"``, ``"c2kd"`` or ``"json"``; found by default):

* **RUDDER's original release** (collaborative-experts style, github.com/nshubham655/RUDDER):
  split lists ``train_list_full.txt`` / ``val_list_full.txt`` / ``test_list_full.txt`` (one
  video id per line), captions ``raw-captions_<language>.pickle`` (video id -> list of
  captions, each a string or a list of tokens; the language is the English name in the
  file name, e.g. ``marathi``), and optionally the text-feature pickles
  ``aggregated_text_feats/<language>.pickle`` (video id -> list whose first
  ``captions_per_video`` items are per-caption feature arrays and whose next item is the
  per-caption label array: 0 positive, 1 and 2 partial, 3 negative). Those feature rows
  are not tied to caption texts in the release, so their labels are kept per video in
  ``meta["partial_order_labels"]`` (as released) rather than as :class:`PartialLabel`.
* **the C2KD release**: ``rudder_{split}.pkl`` (or ``.pickle``), a pickled list of
  ``{"id", "captions": {lang: str}, "audios": {lang: array}, "2d"/"3d": features}`` with
  languages among en, hi, mr, ta, te, kn, ml (not every video has every language);
* an unpickled equivalent, ``rudder_{split}.json`` with ``id`` and ``captions`` (and
  optionally ``audios`` as a list of languages that have spoken captions) -- an mvkit
  convenience, not a public release. Partial-relevance labels for it may come from
  ``rudder_partial_{split}.csv`` (``video_id,caption_id,label`` with 0 positive / 1
  partial / 2 negative).

Pickles need ``allow_pickle=True``. In the C2KD and JSON layouts a seeded ``val`` is
carved from train; a test file alone loads for evaluation.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mvkit.data.languages import normalize_lang
from mvkit.data.pickles import PICKLE_SUFFIXES, load_pickle
from mvkit.data.readers.common import (
    DataWarning,
    check_unique,
    drop_empty,
    fmt_ids,
    read_csv,
    read_split_lists,
    resolve_langs,
    val_policy,
    warn_scripts,
)
from mvkit.data.records import CaptionRecord, PartialLabel, RetrievalDataset, VideoRecord
from mvkit.io import read_json

LANGS = ("en", "hi", "mr", "ta", "te", "kn", "ml")
ORIGINAL_LISTS = {"train": "train_list_full.txt", "val": "val_list_full.txt", "test": "test_list_full.txt"}
# RUDDER's text-feature labels -> mvkit's PartialLabel scale (0 positive, 1 partial, 2 negative)
RUDDER_LABELS = {0: "positive", 1: "partial", 2: "partial", 3: "negative"}


def _load_split(root: Path, split: str, allow_pickle: bool) -> tuple[Path, list] | None:
    js = root / f"rudder_{split}.json"
    if js.is_file():
        return js, read_json(js)
    for suffix in PICKLE_SUFFIXES:
        pk = root / f"rudder_{split}{suffix}"
        if pk.is_file():
            return pk, load_pickle(pk, allow_pickle=allow_pickle)
    return None


def read_rudder(
    root: str | Path,
    langs: list[str] | None = None,
    *,
    layout: str | None = None,
    allow_pickle: bool = False,
    splits: tuple[str, ...] = ("train", "test"),
    val_size: int = 50,
    seed: int = 0,
    captions_per_video: int = 30,
    video_dir: str = "videos",
) -> RetrievalDataset:
    """Read RUDDER annotations in any of the three layouts (see the module docstring).

    ``allow_pickle=True`` is needed for the pickled releases. ``captions_per_video`` is
    where the label array sits in the original text-feature pickles (30 in RUDDER's code).
    """
    root = Path(root)
    if layout is None:
        layout = "original" if any((root / f).is_file() for f in ORIGINAL_LISTS.values()) else "c2kd"
    if layout == "original":
        return _read_original(root, langs, allow_pickle, captions_per_video, video_dir)
    if layout not in ("c2kd", "json"):
        raise ValueError(f"{root}: unknown RUDDER layout {layout!r}; choose 'original', 'c2kd' or 'json'")
    langs = resolve_langs(langs, list(LANGS), str(root))
    split_of: dict[str, str] = {}
    caps, where, spoken = [], {}, []
    found = {s: f for s in splits if (f := _load_split(root, s, allow_pickle)) is not None}
    if not found or ("train" in splits and "test" in splits and "test" not in found):
        missing = [s for s in splits if s not in found]
        raise FileNotFoundError(f"{root}: neither rudder_{missing[0]}.json nor rudder_{missing[0]}.pkl "
                                f"(.pickle) found; see the manifest's 'layout'")
    for split, (path, data) in found.items():
        if not isinstance(data, list) or not all(isinstance(e, dict) and "id" in e and
                                                 isinstance(e.get("captions"), dict) for e in data):
            raise ValueError(f"{path}: expected a list of {{'id', 'captions': {{lang: text}}}} entries")
        check_unique(((str(e["id"]), f"entry [{i}]") for i, e in enumerate(data)), "video ids", path)
        for i, e in enumerate(data):
            vid = str(e["id"])
            if vid in split_of:
                raise ValueError(f"{path}: video {vid!r} also appears in the {split_of[vid]} file")
            split_of[vid] = split
            audio_langs = {normalize_lang(a, f"{path} entry [{i}]") for a in (e.get("audios") or [])}
            for code, text in e["captions"].items():
                lang = normalize_lang(code, f"{path} entry [{i}] (id {vid!r})")
                cid = f"{vid}#{lang}"
                if cid in where:
                    raise ValueError(f"{path}: entry [{i}] (id {vid!r}) has two caption keys for '{lang}' "
                                     f"(inconsistent language codes)")
                where[cid] = f"{path.name} entry [{i}]"
                if lang in langs:
                    caps.append(CaptionRecord(cid, vid, lang, "" if text is None else str(text)))
                    if lang in audio_langs:
                        spoken.append(cid)
    caps = drop_empty(caps, root, where)
    partial = []
    cids, vids = {c.caption_id for c in caps}, set(split_of)
    for split in splits:
        pp = root / f"rudder_partial_{split}.csv"
        if not pp.is_file():
            continue
        rows = read_csv(pp, ["video_id", "caption_id", "label"])
        bad = [f"line {ln}: {r['video_id']}/{r['caption_id']}" for ln, r in rows
               if r["video_id"] not in vids or r["caption_id"] not in cids or r["label"] not in ("0", "1", "2")]
        if bad:
            raise ValueError(f"{pp}: unknown video/caption ids or labels not in 0/1/2: {fmt_ids(bad)}")
        partial += [PartialLabel(r["video_id"], r["caption_id"], int(r["label"])) for _, r in rows]
    val = val_policy(split_of, val_size, seed, found["train"][0] if "train" in found else root)
    warn_scripts(caps, root)
    videos = [VideoRecord(v, f"{video_dir}/{v}.mp4", s) for v, s in sorted(split_of.items())]
    kinds = {"json" if p.suffix == ".json" else "c2kd" for p, _ in found.values()}
    return RetrievalDataset("rudder", root, videos, caps, partial_labels=partial, source=str(root),
                            meta={"val": val, "layout": "/".join(sorted(kinds)), "files": [p.name for p, _ in
                                                                                        found.values()],
                                  "spoken_captions": spoken, "caption_kind": "assumed human"})


def _caption_files(root: Path) -> dict[str, Path]:
    """lang -> ``raw-captions_<language>.pickle`` (or ``.pkl``); the language comes from the name."""
    out: dict[str, Path] = {}
    for p in sorted(root.glob("raw-captions_*")):
        if p.suffix.lower() not in PICKLE_SUFFIXES:
            continue
        lang = normalize_lang(p.stem[len("raw-captions_"):], f"{p} (language in the file name)")
        if lang in out:
            raise ValueError(f"inconsistent language names: {out[lang].name} and {p.name} both hold '{lang}'")
        out[lang] = p
    return out


def _labels(path: Path, allow_pickle: bool, cpv: int, vids: set[str]) -> dict[str, list[int]]:
    """Per-video label arrays of one original text-feature pickle, checked (0..3)."""
    data = load_pickle(path, allow_pickle=allow_pickle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict video id -> [caption features ..., labels]")
    out = {}
    for vid, entry in data.items():
        vid = str(vid)
        if vid not in vids:
            continue
        if not isinstance(entry, (list, tuple)) or len(entry) <= cpv:
            raise ValueError(f"{path}: video {vid!r}: expected {cpv} caption feature arrays followed by "
                             f"the label array, got {type(entry).__name__} of length "
                             f"{len(entry) if hasattr(entry, '__len__') else '?'} (captions_per_video={cpv})")
        lab = np.asarray(entry[cpv]).reshape(-1)
        if lab.size == 0 or not np.all(np.isin(lab, list(RUDDER_LABELS))):
            raise ValueError(f"{path}: video {vid!r}: labels must be 0 (positive), 1/2 (partial) or "
                             f"3 (negative), got {sorted(set(lab.tolist()))[:10]}")
        out[vid] = [int(x) for x in lab]
    return out


def _read_original(root: Path, langs: list[str] | None, allow_pickle: bool, cpv: int,
                   video_dir: str) -> RetrievalDataset:
    split_of = read_split_lists(root, ORIGINAL_LISTS)
    if not split_of:
        raise FileNotFoundError(f"{root}: no split list ({', '.join(ORIGINAL_LISTS.values())})")
    files = _caption_files(root)
    if not files:
        raise FileNotFoundError(f"{root}: no raw-captions_<language>.pickle caption file")
    keep = resolve_langs(langs, sorted(files), str(root))
    caps, where = [], {}
    labels: dict[str, dict[str, list[int]]] = {}
    stray: dict[str, int] = {}
    for lang in keep:
        path = files[lang]
        data = load_pickle(path, allow_pickle=allow_pickle)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a dict video id -> list of captions")
        for vid, texts in data.items():
            vid = str(vid)
            if vid not in split_of:
                stray[path.name] = stray.get(path.name, 0) + 1
                continue
            if not isinstance(texts, (list, tuple)):
                raise ValueError(f"{path}: value of {vid!r} must be a list of captions, got {type(texts).__name__}")
            for k, t in enumerate(texts):
                cid = f"{vid}#{lang}#{k}"
                where[cid] = f"{path.name} [{vid!r}][{k}]"
                caps.append(CaptionRecord(cid, vid, lang, " ".join(map(str, t)) if isinstance(t, (list, tuple))
                                          else str(t)))
        name = path.stem[len("raw-captions_"):]
        fpath = next((p for s in PICKLE_SUFFIXES if (p := root / "aggregated_text_feats" / f"{name}{s}").is_file()),
                     None)
        if fpath is not None:
            labels[lang] = _labels(fpath, allow_pickle, cpv, set(split_of))
    if stray:
        warnings.warn(f"{root}: captions of videos in no split list were not loaded: {stray}",
                      DataWarning, stacklevel=3)
    caps = drop_empty(caps, root, where)
    warn_scripts(caps, root)
    meta = {"layout": "original", "languages": keep, "files": {l: files[l].name for l in keep},
            "val": "the release's own validation split" if "val" in split_of.values()
            else "none: val_list_full.txt missing or empty",
            "caption_kind": "assumed human"}
    if labels:
        meta["partial_order_labels"] = labels
        meta["partial_order_label_meaning"] = RUDDER_LABELS
        meta["partial_order_counts"] = {l: {RUDDER_LABELS[0]: sum(x == 0 for v in d.values() for x in v),
                                            "partial": sum(x in (1, 2) for v in d.values() for x in v),
                                            RUDDER_LABELS[3]: sum(x == 3 for v in d.values() for x in v)}
                                        for l, d in labels.items()}
    videos = [VideoRecord(v, f"{video_dir}/{v}.mp4", s) for v, s in sorted(split_of.items())]
    return RetrievalDataset("rudder", root, videos, caps, source=str(root), meta=meta)
