"""VATEX (Wang et al., ICCV 2019): 10 English + 10 Chinese human captions per 10-s clip.

Official json files are lists of ``{"videoID": "<ytid>_<start:06d>_<end:06d>",
"enCap": [10 str], "chCap": [10 str]}`` (the public test file has ``enCap`` only).
Retrieval work (HGR, hybrid space, the CCR papers) trains on the 25,991 training clips
and splits the 3,000 official validation clips into 1,500 val + 1,500 test; pass the
published lists as ``val_test_lists`` for exact comparability, otherwise the split is
seeded and recorded in ``meta``. Without the training file (the validation file alone)
the dataset is evaluation-only.
"""
from __future__ import annotations

import random
import re
import warnings
from pathlib import Path

from mvkit.data.readers.common import (
    DataWarning,
    check_unique,
    drop_empty,
    fmt_ids,
    read_lines,
    require_file,
    resolve_langs,
    warn_scripts,
)
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord
from mvkit.io import read_json

VIDEO_ID = re.compile(r"^(?P<ytid>.+)_(?P<start>\d{6})_(?P<end>\d{6})$")
KEYS = {"en": "enCap", "zh": "chCap"}


def _read_entries(path: Path) -> list[tuple[str, dict]]:
    data = read_json(path)
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of {{'videoID', 'enCap', 'chCap'}} objects")
    out = []
    for i, e in enumerate(data):
        vid = e.get("videoID") if isinstance(e, dict) else None
        if not isinstance(vid, str) or not VIDEO_ID.match(vid):
            raise ValueError(f"{path}: entry [{i}] has videoID {vid!r}; expected '<ytid>_<start:06d>_<end:06d>'")
        out.append((f"{path.name}[{i}]", e))
    check_unique(((e["videoID"], w) for w, e in out), "videoIDs", path)
    return out


def read_vatex(
    root: str | Path,
    *,
    langs: list[str] | None = None,
    train_json: str = "vatex_training_v1.0.json",
    val_json: str = "vatex_validation_v1.0.json",
    public_test_json: str | None = None,
    val_test_lists: tuple[str, str] | None = None,
    n_val: int = 1500,
    seed: int = 0,
    video_dir: str = "videos",
) -> RetrievalDataset:
    """Read VATEX train + official validation (split into val/test) for ``langs`` (en, zh)."""
    root = Path(root)
    langs = resolve_langs(langs, ["en", "zh"], str(root))
    tpath = root / train_json
    vpath = require_file(root, val_json, "annotation file" if tpath.is_file() else
                         f"annotation file (nor {train_json})")
    train = _read_entries(tpath) if tpath.is_file() else []
    official_val = _read_entries(vpath)
    split_of = {e["videoID"]: "train" for _, e in train}
    both = sorted(set(split_of) & {e["videoID"] for _, e in official_val})
    if both:
        raise ValueError(f"{tpath.name} and {vpath.name} share videoIDs: {fmt_ids(both)}")
    val_ids = sorted(e["videoID"] for _, e in official_val)
    if val_test_lists is not None:
        lists = {}
        for name, rel in zip(("val", "test"), val_test_lists):
            lp = require_file(root, rel, f"{name} id list")
            lists[name] = [ln.strip() for _, ln in read_lines(lp)]
            unknown = sorted(set(lists[name]) - set(val_ids))
            if unknown:
                raise ValueError(f"{lp}: ids not in {vpath.name}: {fmt_ids(unknown)}")
        for name in ("val", "test"):
            split_of.update({v: name for v in lists[name]})
        left = sorted(set(val_ids) - set(lists["val"]) - set(lists["test"]))
        if left:
            warnings.warn(f"{vpath}: {len(left)} validation clips in neither list, not used: {fmt_ids(left)}",
                          DataWarning, stacklevel=2)
        how = f"val/test from {list(val_test_lists)}"
    else:
        if not 0 < n_val < len(val_ids):
            raise ValueError(f"{vpath}: cannot take {n_val} val clips from {len(val_ids)}")
        v = set(random.Random(seed).sample(val_ids, n_val))
        split_of.update({i: ("val" if i in v else "test") for i in val_ids})
        how = f"official validation split seeded (seed {seed}): {n_val} val, {len(val_ids) - n_val} test"
    if not train:
        how += f"; evaluation-only ({tpath.name} not present)"
    entries = train + [(w, e) for w, e in official_val if e["videoID"] in split_of]
    if public_test_json:
        ppath = require_file(root, public_test_json)
        pub = _read_entries(ppath)
        clash = sorted({e["videoID"] for _, e in pub} & set(split_of))
        if clash:
            raise ValueError(f"{ppath.name} repeats videoIDs of train/validation: {fmt_ids(clash)}")
        split_of.update({e["videoID"]: "test_public" for _, e in pub})
        entries += pub
    caps, where = [], {}
    for w, e in entries:
        vid = e["videoID"]
        for lang in langs:
            texts = e.get(KEYS[lang])
            if texts is None:
                continue
            if not isinstance(texts, list):
                raise ValueError(f"{w}: '{KEYS[lang]}' of {vid!r} must be a list of strings")
            for k, t in enumerate(texts):
                cid = f"{vid}#{lang}#{k}"
                where[cid] = w
                caps.append(CaptionRecord(cid, vid, lang, str(t)))
    caps = drop_empty(caps, root, where)
    warn_scripts(caps, root)
    videos = []
    for vid, split in sorted(split_of.items()):
        m = VIDEO_ID.match(vid)
        videos.append(VideoRecord(vid, f"{video_dir}/{vid}.mp4", split,
                                  float(int(m["end"]) - int(m["start"]))))
    return RetrievalDataset("vatex", root, videos, caps, meta={"splits": how, "languages": langs},
                            source=str(tpath if train else vpath))
