"""MSVD (Chen & Dolan, 2011): 1,970 YouTube clips, ~40 English captions each.

Captions come from either ``AllVideoDescriptions.txt`` (``<clip> <description>`` lines,
``#`` comment lines) or CLIP4Clip's ``raw-captions.pkl`` (a pickled dict clip ->
list of token lists; needs ``allow_pickle=True``). Splits come from ``train_list.txt``,
``val_list.txt``, ``test_list.txt`` (one clip id a line; 1,200 / 100 / 670).
"""
from __future__ import annotations

import warnings
from pathlib import Path

from mvkit.data.pickles import load_pickle
from mvkit.data.readers.common import (
    DataWarning,
    check_unique,
    drop_empty,
    fmt_ids,
    read_lines,
    require_file,
)
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord

SPLIT_FILES = {"train": "train_list.txt", "val": "val_list.txt", "test": "test_list.txt"}


def _from_txt(path: Path) -> list[tuple[str, str, str]]:
    out = []
    for ln, line in read_lines(path):
        if line.lstrip().startswith("#"):
            continue
        vid, _, text = line.strip().partition(" ")
        out.append((vid, text.strip(), f"{path.name} line {ln}"))
    return out


def _from_pickle(path: Path, allow_pickle: bool) -> list[tuple[str, str, str]]:
    data = load_pickle(path, allow_pickle=allow_pickle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict clip id -> list of captions")
    out = []
    for vid, caps in data.items():
        for k, c in enumerate(caps):
            text = " ".join(map(str, c)) if isinstance(c, (list, tuple)) else str(c)
            out.append((str(vid), text, f"{path.name} [{vid!r}][{k}]"))
    return out


def read_msvd(
    root: str | Path,
    *,
    captions: str | None = None,
    allow_pickle: bool = False,
    video_dir: str = "YouTubeClips",
) -> RetrievalDataset:
    """Read MSVD captions (txt, or the pickle with opt-in) and the three split lists."""
    root = Path(root)
    if captions is None:
        captions = "AllVideoDescriptions.txt" if (root / "AllVideoDescriptions.txt").is_file() else "raw-captions.pkl"
    cpath = require_file(root, captions, "caption file")
    rows = _from_pickle(cpath, allow_pickle) if cpath.suffix == ".pkl" else _from_txt(cpath)
    split_of, where_split = {}, {}
    for split, rel in SPLIT_FILES.items():
        lp = require_file(root, rel, f"{split} list")
        lines = [(ln, s.strip()) for ln, s in read_lines(lp)]
        check_unique(((v, f"line {ln}") for ln, v in lines), "clip ids", lp)
        for ln, v in lines:
            if v in split_of:
                raise ValueError(f"{lp}:{ln}: clip {v!r} is already in {where_split[v]}")
            split_of[v], where_split[v] = split, f"{rel} line {ln}"
    unknown = sorted({v for v, _, _ in rows} - set(split_of))
    if unknown:
        raise ValueError(f"{cpath}: captions for clips in no split list: {fmt_ids(unknown)}")
    counts: dict[str, int] = {}
    caps, where = [], {}
    for vid, text, w in rows:
        k = counts.get(vid, 0)
        counts[vid] = k + 1
        cid = f"{vid}#{k}"
        where[cid] = w
        caps.append(CaptionRecord(cid, vid, "en", text))
    caps = drop_empty(caps, cpath, where)
    silent = sorted(set(split_of) - {c.video_id for c in caps})
    if silent:
        warnings.warn(f"{cpath}: {len(silent)} clip(s) in the split lists have no caption "
                      f"(kept as gallery videos): {fmt_ids(silent)}", DataWarning, stacklevel=2)
    videos = [VideoRecord(v, f"{video_dir}/{v}.avi", s) for v, s in sorted(split_of.items())]
    return RetrievalDataset("msvd", root, videos, caps, source=str(cpath), meta={"captions": cpath.name})
