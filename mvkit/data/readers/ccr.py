"""Caption files of the cross-lingual cross-modal retrieval (CCR) repositories (NRCCR, ...).

One caption per line: ``<videoID>#<tag>#<k> <caption>``. The tag says language and
provenance: ``enc`` English human caption, ``zh`` Chinese human caption, ``enc2zh``
English machine-translated to Chinese, ``enc2zh2enc`` its back-translation to English,
``zh2enc`` Chinese machine-translated to English. Files are named
``<collection><split>[_<variant>].caption.txt`` (e.g. ``msrvttcntrain_google_enc2zh.caption.txt``)
under ``TextData/``. Files of different languages list videos in different orders, so
captions are aligned by id: a translation's ``source_id`` is the caption id with the last
hop of the tag removed (``v1#enc2zh#0`` -> ``v1#enc#0``).
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

from mvkit.data.languages import normalize_lang
from mvkit.data.readers.common import (
    DataWarning,
    carve_val,
    check_unique,
    drop_empty,
    fmt_ids,
    read_lines,
)
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord

SPLITS = ("train", "val", "test")


def parse_tag(tag: str, where: str = "") -> tuple[str, str, str | None]:
    """``(lang, kind, source_tag)`` of a CCR tag, e.g. ``enc2zh`` -> ``("zh", "machine-translated", "enc")``."""
    hops = tag.split("2")
    if not all(hops):
        raise ValueError(f"{where}: malformed caption tag {tag!r}")
    langs = [normalize_lang("en" if h == "enc" else h, where) for h in hops]
    if len(hops) == 1:
        return langs[0], "human", None
    kind = "back-translated" if len(hops) >= 3 and langs[-1] == langs[0] else "machine-translated"
    return langs[-1], kind, "2".join(hops[:-1])


def read_caption_file(path: Path) -> list[tuple[str, CaptionRecord]]:
    """``(where, caption)`` pairs of one CCR caption file; bad lines raise naming file:line."""
    out = []
    for ln, line in read_lines(path):
        cap_id, _, text = line.strip().partition(" ")
        parts = cap_id.split("#")
        where = f"{path}:{ln}"
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise ValueError(f"{where}: expected '<videoID>#<tag>#<k> <caption>', got {cap_id!r}")
        vid, tag, k = parts
        lang, kind, src = parse_tag(tag, where)
        out.append((where, CaptionRecord(cap_id, vid, lang, text.strip(), kind=kind,
                                         source_id=f"{vid}#{src}#{k}" if src else None)))
    return out


def read_ccr(
    root: str | Path,
    collection: str,
    *,
    langs: list[str] | None = None,
    kinds: list[str] | None = None,
    text_dir: str = "TextData",
    val_size: int = 500,
    seed: int = 0,
    video_dir: str = "videos",
) -> RetrievalDataset:
    """Read every ``<collection><split>*.caption.txt`` under ``root/text_dir``.

    ``langs`` / ``kinds`` keep a subset of captions (e.g. ``kinds=["human"]`` for the
    test protocol). A seeded ``val`` is carved from train when no val file exists.
    """
    root = Path(root)
    tdir = root / text_dir
    if not tdir.is_dir():
        raise FileNotFoundError(f"{tdir}: caption directory not found; see the manifest's 'layout'")
    pat = re.compile(rf"^{re.escape(collection)}(train|val|test)(?:_(.+))?\.caption\.txt$")
    files = [(p, pat.match(p.name)) for p in sorted(tdir.glob("*.caption.txt"))]
    files = [(p, m.group(1), m.group(2)) for p, m in files if m]
    if not files:
        raise FileNotFoundError(f"{tdir}: no {collection}<split>*.caption.txt files")
    split_of: dict[str, str] = {}
    split_where: dict[str, str] = {}
    pairs: list[tuple[str, CaptionRecord]] = []
    for path, split, variant in files:
        rows = read_caption_file(path)
        file_tag = variant.split("_")[-1] if variant else None
        try:
            if file_tag:
                parse_tag(file_tag, str(path))
        except ValueError:
            file_tag = None   # a variant name that is not a tag (e.g. 'google'): nothing to check
        if file_tag:
            bad = [w for w, c in rows if c.caption_id.split("#")[1] != file_tag]
            if bad:
                raise ValueError(f"{path}: inconsistent language tags: file is '{file_tag}' but "
                                 f"lines {fmt_ids(b.rsplit(':', 1)[1] for b in bad)} carry other tags")
        for w, c in rows:
            prev = split_of.setdefault(c.video_id, split)
            if prev != split:
                raise ValueError(f"{w}: video {c.video_id!r} is in {split} but also in {prev} "
                                 f"({split_where[c.video_id]})")
            split_where.setdefault(c.video_id, w)
        pairs += rows
    check_unique(((c.caption_id, w) for w, c in pairs), "caption ids", tdir)
    caps = drop_empty([c for _, c in pairs], tdir, {c.caption_id: w for w, c in pairs})
    ids = {c.caption_id for c in caps}
    unaligned = [c.caption_id for c in caps if c.source_id and c.source_id not in ids]
    if unaligned:
        warnings.warn(f"{tdir}: {len(unaligned)} translation(s) whose source caption is not in the "
                      f"loaded files (kept, source_id dangling): {fmt_ids(unaligned)}",
                      DataWarning, stacklevel=2)
    if langs is not None:
        keep = {normalize_lang(l, str(tdir)) for l in langs}
        caps = [c for c in caps if c.lang in keep]
    if kinds is not None:
        caps = [c for c in caps if c.kind in set(kinds)]
    meta = {"collection": collection, "files": [p.name for p, _, _ in files]}
    if "val" not in split_of.values():
        _, val = carve_val([v for v, s in split_of.items() if s == "train"], val_size, seed)
        split_of.update({v: "val" for v in val})
        meta["val"] = f"{val_size} videos carved from train with seed {seed}"
    videos = [VideoRecord(v, f"{video_dir}/{v}.mp4", s) for v, s in sorted(split_of.items())]
    return RetrievalDataset(collection, root, videos, caps, meta=meta, source=str(tdir))
