"""QVHighlights (Lei et al., NeurIPS 2021): moment retrieval in 150 s YouTube clips.

The release (jayleicn/moment_detr, ``data/``) has one JSON-lines file per split,
``highlight_{train,val,test}_release.jsonl``; each line is one query::

    {"qid": 8737, "query": "...", "duration": 126, "vid": "bP5KfdFJzC4_660.0_810.0",
     "relevant_windows": [[0, 16]], "relevant_clip_ids": [0, 1, ...],
     "saliency_scores": [[4, 1, 1], ...]}

``relevant_windows`` are seconds (several per query happen), ``relevant_clip_ids`` index
2-second clips and ``saliency_scores`` give three annotators' 0-4 scores per relevant
clip. The test file has no windows, clip ids or scores (it is scored on the Codalab
server): its queries load with ``spans=None``. Queries become captions (``caption_id`` =
``str(qid)``, English, human) with ``spans``; ``attributes`` keep ``qid`` and the clip
ids and saliency scores. Videos are ``videos/<vid>.mp4`` with the ``duration`` the file
gives (the same for every query of a video, or an error).
"""
from __future__ import annotations

import json
from pathlib import Path

from mvkit.data.readers.common import check_unique, read_lines, require_file
from mvkit.data.readers.moments import WindowCheck, number
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord

SPLIT_FILES = {"train": "highlight_train_release.jsonl", "val": "highlight_val_release.jsonl",
               "test": "highlight_test_release.jsonl"}
REQUIRED = ("qid", "query", "vid", "duration")
WITH_WINDOWS = ("relevant_windows", "relevant_clip_ids", "saliency_scores")


def _parse_line(path: Path, ln: int, line: str, split: str, check: WindowCheck) -> tuple[dict, CaptionRecord]:
    where = f"{path}:{ln}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not a JSON object ({e.msg} at column {e.colno})") from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [k for k in REQUIRED + (WITH_WINDOWS if split != "test" else ()) if k not in row]
    if missing:
        raise ValueError(f"{where}: missing field(s) {missing}")
    duration = number(row["duration"], "duration", where)
    if duration <= 0:
        raise ValueError(f"{where}: duration {duration:g} must be positive")
    spans = None
    if "relevant_windows" in row:
        wins = row["relevant_windows"]
        if not isinstance(wins, list) or not wins or not all(isinstance(w, list) and len(w) == 2 for w in wins):
            raise ValueError(f"{where}: relevant_windows must be a non-empty list of [start, end], got {wins!r}")
        spans = tuple(s for k, w in enumerate(wins) if (s := check.window(
            number(w[0], "window start", where), number(w[1], "window end", where), duration,
            f"{where} relevant_windows[{k}]")) is not None)
        if not spans:
            raise ValueError(f"{where}: no usable window left after repair")
        clips, scores = row["relevant_clip_ids"], row["saliency_scores"]
        if not isinstance(clips, list) or not isinstance(scores, list) or len(clips) != len(scores):
            raise ValueError(f"{where}: relevant_clip_ids and saliency_scores must be lists of equal length")
    text = str(row["query"]).strip()
    if not text:
        raise ValueError(f"{where}: empty query")
    attrs = {"qid": row["qid"], **{k: row[k] for k in ("relevant_clip_ids", "saliency_scores") if k in row}}
    cap = CaptionRecord(str(row["qid"]), str(row["vid"]), "en", text, "human", None, attrs, spans)
    return {"vid": str(row["vid"]), "duration": duration, "where": where}, cap


def read_qvhighlights(root: str | Path, *, splits: tuple[str, ...] = ("train", "val", "test"),
                      video_dir: str = "videos", repair: bool = False) -> RetrievalDataset:
    """Read the QVHighlights release files of ``splits`` (layout in the module doc)."""
    root = Path(root)
    videos: dict[str, VideoRecord] = {}
    seen: dict[str, str] = {}
    caps: list[CaptionRecord] = []
    where_q: list[tuple[str, str]] = []
    for split in splits:
        if split not in SPLIT_FILES:
            raise ValueError(f"read_qvhighlights: unknown split {split!r}; known: {list(SPLIT_FILES)}")
        path = require_file(root, SPLIT_FILES[split], f"{split} annotation file")
        check = WindowCheck(str(path), repair)
        for ln, line in read_lines(path):
            info, cap = _parse_line(path, ln, line, split, check)
            vid = info["vid"]
            if vid in videos:
                old = videos[vid]
                if old.split != split:
                    raise ValueError(f"{info['where']}: video {vid!r} is already in split {old.split!r} ({seen[vid]})")
                if abs(old.duration - info["duration"]) > 1e-6:
                    raise ValueError(f"{info['where']}: video {vid!r} has duration {info['duration']:g} here but "
                                     f"{old.duration:g} at {seen[vid]}")
            else:
                videos[vid] = VideoRecord(vid, f"{video_dir}/{vid}.mp4", split, info["duration"])
                seen[vid] = info["where"]
            caps.append(cap)
            where_q.append((cap.caption_id, info["where"]))
        check.warn()
    check_unique(where_q, "qids", root)
    return RetrievalDataset("qvhighlights", root, list(videos.values()), caps, source=str(root),
                            meta={"splits": list(splits), "repair": repair})
