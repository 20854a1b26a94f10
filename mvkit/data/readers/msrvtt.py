"""MSR-VTT as CLIP4Clip ships it (``msrvtt_data.zip``).

Files under ``root``:
* ``MSRVTT_data.json`` — ``{"videos": [{"video_id", "split", "start time", "end time", ...}],
  "sentences": [{"caption", "video_id", "sen_id"}]}`` (the official 10k videos x 20 captions);
* ``MSRVTT_train.9k.csv`` / ``MSRVTT_train.7k.csv`` — one ``video_id`` column;
* ``MSRVTT_JSFUSION_test.csv`` — ``key,vid_key,video_id,sentence``: the 1k-A test, one
  caption per video.

Split schemes: ``"9k"`` / ``"7k"`` train on the csv's videos (a seeded ``val`` carved from
them, since 1k-A has no validation split) and test on 1k-A; ``"full"`` uses the official
``split`` field: 6,513 train / 497 val / 2,990 test with all 20 captions per test video.
``MSRVTT_JSFUSION_test.csv`` alone (no ``MSRVTT_data.json``) loads the 1k-A test for
evaluation only.
"""
from __future__ import annotations

from pathlib import Path

from mvkit.data.readers.common import (
    carve_val,
    check_unique,
    drop_empty,
    fmt_ids,
    read_csv,
    require_file,
    warn_scripts,
)
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord
from mvkit.io import read_json

SCHEMES = ("9k", "7k", "full")
OFFICIAL_SPLITS = {"train": "train", "validate": "val", "test": "test"}


def _read_data_json(path: Path) -> tuple[dict[str, dict], list[tuple[str, dict]]]:
    """Videos by id and (where, sentence) pairs, checked for duplicates and unknown ids."""
    data = read_json(path)
    if not isinstance(data, dict) or "videos" not in data or "sentences" not in data:
        raise ValueError(f"{path}: expected an object with 'videos' and 'sentences'")
    videos = data["videos"]
    check_unique(((str(v.get("video_id")), f"videos[{i}]") for i, v in enumerate(videos)),
                 "video ids", path)
    by_id = {str(v["video_id"]): v for v in videos}
    sents = []
    for i, s in enumerate(data["sentences"]):
        missing = [k for k in ("caption", "video_id", "sen_id") if k not in s]
        if missing:
            raise ValueError(f"{path}: sentences[{i}] lacks {missing}")
        sents.append((f"sentences[{i}]", s))
    check_unique(((str(s["sen_id"]), w) for w, s in sents), "sen_id values", path)
    unknown = sorted({str(s["video_id"]) for _, s in sents} - set(by_id))
    if unknown:
        bad = [f"{s['sen_id']} -> {s['video_id']}" for _, s in sents if str(s["video_id"]) in set(unknown)]
        raise ValueError(f"{path}: sentences for videos missing from 'videos': {fmt_ids(unknown)} "
                         f"(sen_id -> video_id: {fmt_ids(bad)})")
    return by_id, sents


def _read_id_csv(path: Path, known: dict[str, dict]) -> list[str]:
    rows = read_csv(path, ["video_id"])
    check_unique(((r["video_id"], f"line {ln}") for ln, r in rows), "video ids", path)
    unknown = [f"{r['video_id']} (line {ln})" for ln, r in rows if r["video_id"] not in known]
    if unknown:
        raise ValueError(f"{path}: video ids not in MSRVTT_data.json: {fmt_ids(unknown)}")
    return [r["video_id"] for _, r in rows]


def _test_rows(spath: Path, known: dict[str, dict] | None, data_json: str) -> list[tuple[int, dict[str, str]]]:
    rows = read_csv(spath, ["key", "vid_key", "video_id", "sentence"])
    check_unique(((r["video_id"], f"line {ln}") for ln, r in rows), "test video ids", spath)
    if known is not None:
        unknown = [f"{r['video_id']} (line {ln})" for ln, r in rows if r["video_id"] not in known]
        if unknown:
            raise ValueError(f"{spath}: video ids not in {data_json}: {fmt_ids(unknown)}")
    return rows


def _test_only(root: Path, spath: Path, video_dir: str, split_scheme: str) -> RetrievalDataset:
    """The 1k-A test file alone: an evaluation-only dataset (one caption per video)."""
    rows = _test_rows(spath, None, "")
    caps = drop_empty([CaptionRecord(f"{r['video_id']}#jsfusion", r["video_id"], "en", r["sentence"])
                       for _, r in rows], spath, {f"{r['video_id']}#jsfusion": f"{spath.name} line {ln}"
                                                  for ln, r in rows})
    warn_scripts(caps, spath)
    videos = [VideoRecord(r["video_id"], f"{video_dir}/{r['video_id']}.mp4", "test") for _, r in rows]
    meta = {"split_scheme": split_scheme, "test_protocol": "1k-A (JSFusion), 1 caption per video",
            "val": "none: evaluation-only (MSRVTT_data.json not present)"}
    return RetrievalDataset(f"msrvtt-{split_scheme}", root, videos, caps, meta=meta, source=str(spath))


def _duration(v: dict) -> float | None:
    try:
        return float(v["end time"]) - float(v["start time"])
    except (KeyError, TypeError, ValueError):
        return None


def read_msrvtt(
    root: str | Path,
    split_scheme: str = "9k",
    *,
    val_size: int = 500,
    seed: int = 0,
    video_dir: str = "MSRVTT/videos/all",
    data_json: str = "MSRVTT_data.json",
    test_csv: str = "MSRVTT_JSFUSION_test.csv",
) -> RetrievalDataset:
    """Read MSR-VTT under ``split_scheme`` ("9k", "7k" or "full") into a RetrievalDataset.

    ``val_size`` videos (seeded by ``seed``) are carved from the 9k/7k training list, as
    the 1k-A protocol has no validation split; "full" uses the official 497-video val.
    """
    root = Path(root)
    if split_scheme not in SCHEMES:
        raise ValueError(f"unknown MSR-VTT split_scheme {split_scheme!r}; choose one of {SCHEMES}")
    if not (root / data_json).exists() and split_scheme != "full" and (root / test_csv).is_file():
        return _test_only(root, root / test_csv, video_dir, split_scheme)
    dpath = require_file(root, data_json)
    by_id, sents = _read_data_json(dpath)
    where = {}
    split_of: dict[str, str] = {}
    test_caps: list[CaptionRecord] = []
    if split_scheme == "full":
        no_split = [vid for vid, v in by_id.items() if v.get("split") not in OFFICIAL_SPLITS]
        if no_split:
            raise ValueError(f"{dpath}: videos without a 'split' of {list(OFFICIAL_SPLITS)}: {fmt_ids(no_split)}")
        split_of = {vid: OFFICIAL_SPLITS[v["split"]] for vid, v in by_id.items()}
        caption_videos = set(split_of)
        meta = {"split_scheme": "full", "test_protocol": "official 2,990 videos x 20 captions"}
    else:
        tpath = require_file(root, f"MSRVTT_train.{split_scheme}.csv", "training list")
        train_ids = _read_id_csv(tpath, by_id)
        spath = require_file(root, test_csv, "1k-A test file")
        rows = _test_rows(spath, by_id, data_json)
        overlap = sorted(set(train_ids) & {r["video_id"] for _, r in rows})
        if overlap:
            raise ValueError(f"{tpath} and {spath} share videos: {fmt_ids(overlap)}")
        train, val = carve_val(train_ids, val_size, seed, tpath)
        split_of.update({v: "train" for v in train})
        split_of.update({v: "val" for v in val})
        for ln, r in rows:
            split_of[r["video_id"]] = "test"
            cid = f"{r['video_id']}#jsfusion"
            where[cid] = f"{spath.name} line {ln}"
            test_caps.append(CaptionRecord(cid, r["video_id"], "en", r["sentence"]))
        caption_videos = set(train) | set(val)
        meta = {"split_scheme": split_scheme, "test_protocol": "1k-A (JSFusion), 1 caption per video",
                "val": f"{val_size} videos carved from MSRVTT_train.{split_scheme}.csv with seed {seed}"}
    videos = [VideoRecord(vid, f"{video_dir}/{vid}.mp4", split_of[vid], _duration(by_id[vid]))
              for vid in sorted(split_of)]
    caps = []
    for w, s in sents:
        vid = str(s["video_id"])
        if vid in caption_videos:
            cid = f"{vid}#{s['sen_id']}"
            where[cid] = w
            caps.append(CaptionRecord(cid, vid, "en", str(s["caption"])))
    caps = drop_empty(caps + test_caps, root, where)
    warn_scripts(caps, dpath)
    return RetrievalDataset(f"msrvtt-{split_scheme}", root, videos, caps, meta=meta, source=str(dpath))
