"""Charades-STA (Gao et al., ICCV 2017 "TALL"): sentence moments in Charades videos.

The release (jiyanggao/TALL) is two text files, ``charades_sta_train.txt`` and
``charades_sta_test.txt``, one query per line::

    3MSZA 24.3 30.4##person turn a light on.

(video id, start and end in seconds, ``##``, the sentence). Durations are not in them:
they come from Charades' own ``Charades_v1_train.csv`` / ``Charades_v1_test.csv``
(column ``length``, seconds), which the reader needs to check every window; a query for
a video the csv does not list is an error naming the line. There is no validation split:
``n_val`` training videos are carved off with a seed (``carve_val``), so checkpoints are
never chosen on test. Captions: ``<video>#<k>`` (k-th query of the video in its file),
English, human, with one window each. Videos: ``Charades_v1_480/<id>.mp4``.
"""
from __future__ import annotations

from pathlib import Path

from mvkit.data.readers.common import carve_val, read_csv, read_lines, require_file
from mvkit.data.readers.moments import WindowCheck, number
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord

SPLIT_FILES = {"train": "charades_sta_train.txt", "test": "charades_sta_test.txt"}
DURATION_FILES = {"train": "Charades_v1_train.csv", "test": "Charades_v1_test.csv"}


def read_durations(path: Path) -> dict[str, float]:
    """``{id: length}`` from a Charades csv (errors name the file and line)."""
    out = {}
    for ln, row in read_csv(path, ["id", "length"]):
        out[row["id"].strip()] = number(row["length"], "length", f"{path}:{ln}")
    return out


def parse_sta_line(line: str, where: str) -> tuple[str, float, float, str]:
    """``'VID start end##sentence'`` -> its four parts; a line that does not parse names ``where``."""
    head, sep, text = line.partition("##")
    parts = head.split()
    if not sep or len(parts) != 3:
        raise ValueError(f"{where}: expected 'VIDEOID start end##sentence', got {line[:80]!r}")
    text = text.strip()
    if not text:
        raise ValueError(f"{where}: empty sentence")
    return parts[0], number(parts[1], "start", where), number(parts[2], "end", where), text


def read_charades_sta(root: str | Path, *, n_val: int = 500, seed: int = 0, video_dir: str = "Charades_v1_480",
                      repair: bool = False) -> RetrievalDataset:
    """Read both Charades-STA files with their Charades durations; carve ``n_val`` val videos from train."""
    root = Path(root)
    videos: dict[str, tuple[str, float]] = {}
    caps: list[CaptionRecord] = []
    for split, rel in SPLIT_FILES.items():
        path = require_file(root, rel, f"{split} annotation file")
        durations = read_durations(require_file(root, DURATION_FILES[split], "Charades csv (video durations)"))
        check = WindowCheck(str(path), repair)
        count: dict[str, int] = {}
        for ln, line in read_lines(path):
            where = f"{path}:{ln}"
            vid, start, end, text = parse_sta_line(line, where)
            if vid not in durations:
                raise ValueError(f"{where}: query for unknown video {vid!r} (not in {DURATION_FILES[split]})")
            if vid in videos and videos[vid][0] != split:
                raise ValueError(f"{where}: video {vid!r} is also in the {videos[vid][0]} file")
            videos[vid] = (split, durations[vid])
            span = check.window(start, end, durations[vid], where)
            if span is None:
                continue
            k = count.get(vid, 0)
            count[vid] = k + 1
            caps.append(CaptionRecord(f"{vid}#{k}", vid, "en", text, "human", None, {"line": ln}, (span,)))
        check.warn()
    train = [v for v, (s, _) in videos.items() if s == "train"]
    _, val = carve_val(train, n_val, seed) if n_val else (train, [])
    val_set = set(val)
    records = [VideoRecord(v, f"{video_dir}/{v}.mp4", "val" if v in val_set else s, d)
               for v, (s, d) in sorted(videos.items())]
    return RetrievalDataset("charades_sta", root, records, caps, source=str(root),
                            meta={"val": f"{len(val)} train videos carved with seed {seed}", "repair": repair})
