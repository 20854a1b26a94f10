"""TACoS (Regneri et al., TACL 2013) as distributed by 2D-TAN and MMN: cooking videos, many queries each.

The release (microsoft/2D-TAN ``data/TACoS/``, reused by MMN) has ``train.json``,
``val.json`` and ``test.json``, each one object keyed by video file name::

    {"s13-d21.avi": {"num_frames": 4672, "fps": 29.4,
                     "timestamps": [[12, 310], ...], "sentences": ["...", ...]}, ...}

``timestamps`` are frame indices; a window in seconds is ``timestamp / fps`` and the video
lasts ``num_frames / fps`` (2D-TAN's own loader). The two lists pair up one to one.
Video ids drop the extension (``s13-d21``; file ``videos/s13-d21.avi``); captions are
``<video>#<k>`` (the k-th sentence), English, human. A JSON file has no "line" per query:
errors name the file, the line where the video's key starts, and the query's index.
"""
from __future__ import annotations

import json
from pathlib import Path

from mvkit.data.readers.common import require_file
from mvkit.data.readers.moments import WindowCheck, number
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord
from mvkit.io import read_text

SPLIT_FILES = {"train": "train.json", "val": "val.json", "test": "test.json"}


def _key_lines(text: str) -> dict[str, int]:
    """Line number where each top-level key's JSON string first appears (for error messages)."""
    out: dict[str, int] = {}
    for ln, line in enumerate(text.split("\n"), 1):
        start = 0
        while (i := line.find('"', start)) >= 0:
            j = line.find('"', i + 1)
            if j < 0:
                break
            key = line[i + 1:j]
            if line[j + 1:].lstrip().startswith(":"):
                out.setdefault(key, ln)
            start = j + 1
    return out


def read_tacos(root: str | Path, *, video_dir: str = "videos", repair: bool = False) -> RetrievalDataset:
    """Read the three 2D-TAN TACoS files (layout in the module doc)."""
    root = Path(root)
    videos: list[VideoRecord] = []
    caps: list[CaptionRecord] = []
    seen: dict[str, str] = {}
    for split, rel in SPLIT_FILES.items():
        path = require_file(root, rel, f"{split} annotation file")
        text = read_text(path)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{e.lineno}: invalid JSON at column {e.colno}: {e.msg}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}:1: expected an object keyed by video file name")
        lines = _key_lines(text)
        check = WindowCheck(str(path), repair)
        for key, anno in data.items():
            where = f"{path}:{lines.get(key, 1)} (video {key!r})"
            if not isinstance(anno, dict) or not {"num_frames", "fps", "timestamps", "sentences"} <= set(anno):
                raise ValueError(f"{where}: needs num_frames, fps, timestamps and sentences")
            fps, n_frames = number(anno["fps"], "fps", where), number(anno["num_frames"], "num_frames", where)
            if fps <= 0 or n_frames <= 0:
                raise ValueError(f"{where}: fps and num_frames must be positive, got {fps:g} and {n_frames:g}")
            stamps, sents = anno["timestamps"], anno["sentences"]
            if not isinstance(stamps, list) or not isinstance(sents, list) or len(stamps) != len(sents):
                raise ValueError(f"{where}: {len(stamps) if isinstance(stamps, list) else '?'} timestamps but "
                                 f"{len(sents) if isinstance(sents, list) else '?'} sentences")
            vid = key.rsplit(".", 1)[0] if "." in key else key
            if vid in seen:
                raise ValueError(f"{where}: video {vid!r} is also in {seen[vid]}")
            seen[vid] = rel
            duration = n_frames / fps
            videos.append(VideoRecord(vid, f"{video_dir}/{key}", split, duration))
            for k, (ts, sentence) in enumerate(zip(stamps, sents)):
                w = f"{where} query {k}"
                if not isinstance(ts, list) or len(ts) != 2:
                    raise ValueError(f"{w}: timestamp {ts!r} is not a [start_frame, end_frame] pair")
                if not str(sentence).strip():
                    raise ValueError(f"{w}: empty sentence")
                span = check.window(number(ts[0], "start frame", w) / fps, number(ts[1], "end frame", w) / fps,
                                    duration, w)
                if span is not None:
                    caps.append(CaptionRecord(f"{vid}#{k}", vid, "en", str(sentence).strip(), "human", None,
                                              {"frames": list(ts)}, (span,)))
        check.warn()
    return RetrievalDataset("tacos", root, videos, caps, source=str(root), meta={"format": "2D-TAN", "repair": repair})
