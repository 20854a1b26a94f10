"""MSVD (Chen & Dolan, 2011): 1,970 YouTube clips, ~40 English captions each; and MSVD-CN.

Captions come from one of
* ``AllVideoDescriptions.txt`` (``<clip> <description>`` lines, ``#`` comment lines);
* CLIP4Clip's ``raw-captions.pkl`` (a pickled dict clip -> list of token lists; ``.pkl``
  or ``.pickle``, needs ``allow_pickle=True``);
* MSVD-CN's ``msvd_cn_captions_release_utf8.csv`` (header ``id,video_id,sentence``, video
  ids ``vidN.mp4``) or its ``.tsv`` twin (the same three columns, tab-separated).
Splits come from ``train_list.txt``, ``val_list.txt``, ``test_list.txt`` (one clip id a
line; 1,200 / 100 / 670); a release of the val or test list alone loads for evaluation.
MSVD-CN's ``vidN`` ids are mapped to the lists' YouTube clip names through
``youtube_mapping.txt`` (``<clip> vidN`` lines) when the two differ.

None of these formats says which language its captions are in: ``lang`` does (the
manifest sets it: ``en`` for MSVD, ``zh`` for MSVD-CN), and a script check warns when the
captions do not look like it.
"""
from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

from mvkit.data.languages import normalize_lang
from mvkit.data.pickles import is_pickle, load_pickle
from mvkit.data.readers.common import (
    DataWarning,
    check_unique,
    drop_empty,
    fmt_ids,
    read_lines,
    read_split_lists,
    require_file,
    warn_scripts,
)
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord
from mvkit.io import read_text

SPLIT_FILES = {"train": "train_list.txt", "val": "val_list.txt", "test": "test_list.txt"}
CAPTION_FILES = ("AllVideoDescriptions.txt", "raw-captions.pkl", "raw-captions.pickle",
                 "msvd_cn_captions_release_utf8.csv", "msvd_cn_captions_release_utf8.tsv")
TABLE_COLUMNS = ["id", "video_id", "sentence"]


def _from_txt(path: Path) -> list[tuple[str, str | None, str, str]]:
    out = []
    for ln, line in read_lines(path):
        if line.lstrip().startswith("#"):
            continue
        vid, _, text = line.strip().partition(" ")
        out.append((vid, None, text.strip(), f"{path.name} line {ln}"))
    return out


def _from_pickle(path: Path, allow_pickle: bool) -> list[tuple[str, str | None, str, str]]:
    data = load_pickle(path, allow_pickle=allow_pickle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict clip id -> list of captions")
    out = []
    for vid, caps in data.items():
        if not isinstance(caps, (list, tuple)):
            raise ValueError(f"{path}: value of {vid!r} must be a list of captions, got {type(caps).__name__}")
        for k, c in enumerate(caps):
            text = " ".join(map(str, c)) if isinstance(c, (list, tuple)) else str(c)
            out.append((str(vid), None, text, f"{path.name} [{vid!r}][{k}]"))
    return out


def _from_table(path: Path) -> list[tuple[str, str | None, str, str]]:
    """MSVD-CN: ``id,video_id,sentence`` rows (CSV with that header, or the headerless-or-not TSV)."""
    tsv = path.suffix.lower() == ".tsv"
    rows = list(csv.reader(io.StringIO(read_text(path)), delimiter="\t" if tsv else ","))
    if rows and [c.strip() for c in rows[0]] == TABLE_COLUMNS:
        rows, first = rows[1:], 2
    elif not tsv:
        raise ValueError(f"{path}:1: expected the header {','.join(TABLE_COLUMNS)}, got {rows[0] if rows else []}")
    else:
        first = 1
    out = []
    for ln, row in enumerate(rows, first):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 3:
            raise ValueError(f"{path}:{ln}: expected 3 columns (id, video_id, sentence), got {len(row)}")
        sid, vid, text = (c.strip() for c in row)
        out.append((vid.removesuffix(".mp4"), sid, text, f"{path.name} line {ln}"))
    return out


def _read_mapping(path: Path) -> dict[str, str]:
    """``youtube_mapping.txt``: ``vidN`` -> YouTube clip name."""
    out = {}
    for ln, line in read_lines(path):
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"{path}:{ln}: expected '<clip> vidN', got {line!r}")
        out[parts[1]] = parts[0]
    return out


def read_msvd(
    root: str | Path,
    *,
    captions: str | None = None,
    lang: str = "en",
    allow_pickle: bool = False,
    mapping: str = "youtube_mapping.txt",
    video_dir: str = "YouTubeClips",
) -> RetrievalDataset:
    """Read MSVD (or MSVD-CN) captions in ``lang`` and the split lists found under ``root``.

    ``captions`` names the caption file (default: the first of :data:`CAPTION_FILES`
    present); pickles need ``allow_pickle=True``. Captions keep the release's sentence id
    where it has one (``<clip>#<id>``), else their position (``<clip>#<k>``).
    """
    root = Path(root)
    lang = normalize_lang(lang, f"{root} (lang=)")
    if captions is None:
        captions = next((c for c in CAPTION_FILES if (root / c).is_file()), CAPTION_FILES[0])
    cpath = require_file(root, captions, "caption file")
    if is_pickle(cpath):
        rows = _from_pickle(cpath, allow_pickle)
    elif cpath.suffix.lower() in (".csv", ".tsv"):
        rows = _from_table(cpath)
    else:
        rows = _from_txt(cpath)
    present = {s: rel for s, rel in SPLIT_FILES.items() if (root / rel).is_file()}
    if not present:
        raise FileNotFoundError(f"{root}: no split list ({', '.join(SPLIT_FILES.values())}); "
                                f"see the manifest's 'layout'")
    if "train" in present and "test" not in present:
        require_file(root, SPLIT_FILES["test"], "test list")
    split_of = read_split_lists(root, present, "clip")
    meta = {"captions": cpath.name, "lang": lang, "splits": sorted(present)}
    if rows and not any(v in split_of for v, _, _, _ in rows) and (root / mapping).is_file():
        to_clip = _read_mapping(root / mapping)
        unmapped = sorted({v for v, _, _, _ in rows} - set(to_clip))
        if unmapped:
            raise ValueError(f"{cpath}: video ids not in {mapping}: {fmt_ids(unmapped)}")
        rows = [(to_clip[v], sid, t, w) for v, sid, t, w in rows]
        meta["video_ids"] = f"mapped to clip names through {mapping}"
    unknown = sorted({v for v, _, _, _ in rows} - set(split_of))
    if unknown and len(present) == len(SPLIT_FILES):
        raise ValueError(f"{cpath}: captions for clips in no split list: {fmt_ids(unknown)}")
    if unknown:
        warnings.warn(f"{cpath}: {len(unknown)} clip(s) are in none of the split lists present "
                      f"({', '.join(present.values())}); their captions are not loaded: {fmt_ids(unknown)}",
                      DataWarning, stacklevel=2)
        rows = [r for r in rows if r[0] in split_of]
    counts: dict[str, int] = {}
    caps, where, seen = [], {}, []
    for vid, sid, text, w in rows:
        k = counts.get(vid, 0)
        counts[vid] = k + 1
        cid = f"{vid}#{sid if sid is not None else k}"
        where[cid] = w
        seen.append((cid, w))
        caps.append(CaptionRecord(cid, vid, lang, text))
    check_unique(seen, "caption ids", cpath)
    caps = drop_empty(caps, cpath, where)
    silent = sorted(set(split_of) - {c.video_id for c in caps})
    if silent:
        warnings.warn(f"{cpath}: {len(silent)} clip(s) in the split lists have no caption "
                      f"(kept as gallery videos): {fmt_ids(silent)}", DataWarning, stacklevel=2)
    warn_scripts(caps, cpath)
    videos = [VideoRecord(v, f"{video_dir}/{v}.avi", s) for v, s in sorted(split_of.items())]
    return RetrievalDataset("msvd" if lang == "en" else f"msvd-{lang}", root, videos, caps,
                            source=str(cpath), meta=meta)
