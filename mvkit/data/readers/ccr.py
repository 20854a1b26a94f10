"""Caption files of the cross-lingual cross-modal retrieval (CCR) repositories (NRCCR, LECCR, MLCMR).

One caption per line: ``<videoID>#<tag>#<k> <caption>``, under
``VisualSearch/<collection>/TextData/`` in files named
``<collection><split>[_<variant>].caption.txt`` (e.g. ``msrvttcntrain_google_enc2zh.caption.txt``).

The tag says language and provenance, as a chain of language hops joined by ``2``; a hop
is a language code, optionally followed by ``c`` ("caption": the human-written original).
``enc`` English human caption, ``zh`` / ``zhc`` Chinese human caption, ``enc2zh`` English
machine-translated to Chinese, ``zhc2en`` / ``zh2enc`` Chinese machine-translated to
English (the translate-test queries), ``enc2zh2enc`` the back-translation of ``enc2zh``;
other collections use other codes the same way (``enc2de``, ``dec2en``, ...). The
caption's language is the last hop's; a chain that returns to its first language is a
back-translation, any other chain a machine translation. Files of different languages
list videos in different orders, so captions are aligned by id: a translation's
``source_id`` is the caption id with the last hop of the tag removed
(``v1#enc2zh#0`` -> ``v1#enc#0``). A release of test (or val) files alone loads for
evaluation, without a training split.
"""
from __future__ import annotations

import re
import warnings
from collections import Counter
from functools import lru_cache
from pathlib import Path

from mvkit.data.languages import normalize_lang
from mvkit.data.readers.common import (
    DataWarning,
    check_unique,
    drop_empty,
    fmt_ids,
    read_lines,
    val_policy,
    warn_scripts,
)
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord

SPLITS = ("train", "val", "test")
_TAG_SHAPE = re.compile(r"^[a-z]+(2[a-z]+)+$")    # a translation chain, whatever its codes


def _hop_lang(hop: str, where: str) -> str:
    """Canonical language of one tag hop: a code, or a code plus the ``c`` (caption) marker."""
    try:
        return normalize_lang(hop, where)
    except ValueError:
        if len(hop) > 1 and hop.endswith("c"):
            try:
                return normalize_lang(hop[:-1], where)
            except ValueError:
                pass
        raise


@lru_cache(maxsize=4096)
def _parse(tag: str) -> tuple[str, str, str | None]:
    hops = tag.split("2")
    if not all(hops):
        raise ValueError(f"malformed caption tag {tag!r}")
    langs = [_hop_lang(h, "") for h in hops]
    if len(hops) == 1:
        return langs[0], "human", None
    kind = "back-translated" if len(hops) >= 3 and langs[-1] == langs[0] else "machine-translated"
    return langs[-1], kind, "2".join(hops[:-1])


def parse_tag(tag: str, where: str = "") -> tuple[str, str, str | None]:
    """``(lang, kind, source_tag)`` of a CCR tag, e.g. ``enc2zh`` -> ``("zh", "machine-translated", "enc")``."""
    try:
        return _parse(tag)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def read_caption_file(path: Path) -> list[tuple[str, CaptionRecord]]:
    """``(where, caption)`` pairs of one CCR caption file; bad lines raise naming file:line."""
    return _read_file(path, None)[0]


def _read_file(path: Path, keep_langs: set[str] | None
               ) -> tuple[list[tuple[str, CaptionRecord]], Counter, Counter]:
    """:func:`read_caption_file` keeping only ``keep_langs``: also returns the tags of the
    lines of other languages, and of tags whose language mvkit does not know (not fatal
    then: they cannot be among the requested languages)."""
    out, skipped, unknown = [], Counter(), Counter()
    for ln, line in read_lines(path):
        cap_id, _, text = line.strip().partition(" ")
        parts = cap_id.split("#")
        where = f"{path}:{ln}"
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise ValueError(f"{where}: expected '<videoID>#<tag>#<k> <caption>', got {cap_id!r}")
        vid, tag, k = parts
        try:
            lang, kind, src = parse_tag(tag, where)
        except ValueError:
            if keep_langs is None:
                raise
            unknown[tag] += 1
            continue
        if keep_langs is not None and lang not in keep_langs:
            skipped[tag] += 1
            continue
        out.append((where, CaptionRecord(cap_id, vid, lang, text.strip(), kind=kind,
                                         source_id=f"{vid}#{src}#{k}" if src else None)))
    return out, skipped, unknown


def _file_tag(variant: str | None) -> str | None:
    """The tag a file's name declares (its variant's last ``_`` part), if it is one."""
    if not variant:
        return None
    tag = variant.split("_")[-1]
    try:
        _parse(tag)
    except ValueError:
        return None   # a variant name that is not a tag (e.g. 'google'): nothing to check
    return tag


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

    ``langs`` keeps those caption languages; files whose name declares another language
    are not even read (a collection may hold codes mvkit does not know). ``kinds`` keeps
    some caption kinds (e.g. ``kinds=["human"]`` for the test protocol). A seeded ``val``
    is carved from train when no val file exists; test (or val) files alone give an
    evaluation-only dataset.
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
    keep = None if langs is None else {normalize_lang(lang, str(tdir)) for lang in langs}
    split_of: dict[str, str] = {}
    split_where: dict[str, str] = {}
    pairs: list[tuple[str, CaptionRecord]] = []
    read, skipped_files, skipped_tags, unknown_tags = [], [], Counter(), Counter()
    for path, split, variant in files:
        file_tag = _file_tag(variant)
        named = variant.split("_")[-1] if variant else ""
        if keep is not None and ((file_tag and _parse(file_tag)[0] not in keep)
                                 or (not file_tag and _TAG_SHAPE.match(named))):
            skipped_files.append(path.name)     # another language, or one mvkit does not know
            continue
        rows, skipped, unknown = _read_file(path, keep)
        skipped_tags.update(skipped)
        unknown_tags.update(unknown)
        read.append(path.name)
        if file_tag:
            bad = [w for w, c in rows if c.caption_id.split("#")[1] != file_tag]
            if bad:
                raise ValueError(f"{path}: inconsistent language tags: file is '{file_tag}' but "
                                 f"lines {fmt_ids(b.rsplit(':', 1)[1] for b in bad)} carry other tags")
            other = sorted(t for t in (*skipped, *unknown) if t != file_tag)
            if other:
                raise ValueError(f"{path}: inconsistent language tags: file is '{file_tag}' but "
                                 f"some lines carry {other}")
        for w, c in rows:
            prev = split_of.setdefault(c.video_id, split)
            if prev != split:
                raise ValueError(f"{w}: video {c.video_id!r} is in {split} but also in {prev} "
                                 f"({split_where[c.video_id]})")
            split_where.setdefault(c.video_id, w)
        pairs += rows
    if unknown_tags:
        warnings.warn(f"{tdir}: skipped {sum(unknown_tags.values())} caption line(s) whose tag names a "
                      f"language mvkit does not know (not in langs={sorted(keep or [])}): "
                      f"{dict(unknown_tags)}", DataWarning, stacklevel=2)
    check_unique(((c.caption_id, w) for w, c in pairs), "caption ids", tdir)
    caps = drop_empty([c for _, c in pairs], tdir, {c.caption_id: w for w, c in pairs})
    ids = {c.caption_id for c in caps}
    loaded_langs = {c.lang for c in caps}
    unaligned = [c.caption_id for c in caps if c.source_id and c.source_id not in ids
                 and _parse(c.source_id.split("#")[1])[0] in loaded_langs]
    if unaligned:
        warnings.warn(f"{tdir}: {len(unaligned)} translation(s) whose source caption is not in the "
                      f"loaded files (kept, source_id dangling): {fmt_ids(unaligned)}",
                      DataWarning, stacklevel=2)
    if kinds is not None:
        caps = [c for c in caps if c.kind in set(kinds)]
    meta = {"collection": collection, "files": read}
    if skipped_files or skipped_tags or unknown_tags:
        meta["skipped"] = {"files": skipped_files, "tags": dict(skipped_tags + unknown_tags)}
    meta["val"] = val_policy(split_of, val_size, seed, tdir)
    warn_scripts(caps, tdir)
    videos = [VideoRecord(v, f"{video_dir}/{v}.mp4", s) for v, s in sorted(split_of.items())]
    return RetrievalDataset(collection, root, videos, caps, meta=meta, source=str(tdir))
