"""Shared checks for the dataset readers: files that must exist, lines, ids, val carving.

Every reader reports bad input the same way: a ``FileNotFoundError`` or ``ValueError``
whose message starts with the file (and line) and lists the offending ids, or — where
skipping is harmless, e.g. an empty training caption — a ``warnings.warn`` that lists
what was skipped. Nothing is dropped silently.
"""
from __future__ import annotations

import csv
import io
import json
import random
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from mvkit.data.records import CaptionRecord


class DataWarning(UserWarning):
    """Something in a dataset file was skipped; the message lists what and where."""


def fmt_ids(ids: Iterable, limit: int = 10) -> str:
    """Show at most ``limit`` ids, and how many more there are."""
    ids = list(ids)
    head = ", ".join(repr(i) for i in ids[:limit])
    return f"[{head}{f', ... ({len(ids) - limit} more)' if len(ids) > limit else ''}]"


def require_file(root: str | Path, rel: str | Path, what: str = "annotation file") -> Path:
    """``root / rel`` if it is a readable file, else ``FileNotFoundError`` naming it."""
    p = Path(root) / rel
    if not p.is_file():
        hint = " (it is a directory)" if p.is_dir() else ""
        raise FileNotFoundError(f"{p}: {what} not found{hint}; see the dataset manifest's 'layout'")
    return p


def read_text(path: Path) -> str:
    """Read UTF-8 text; errors name the file and the byte offset of a bad encoding."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except OSError as e:
        raise OSError(f"{path}: unreadable ({e.strerror or e})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not valid UTF-8 (byte offset {e.start})") from None


def read_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based line numbers (trailing newline stripped)."""
    return [(i, ln.rstrip("\r\n")) for i, ln in enumerate(read_text(path).split("\n"), 1) if ln.strip()]


def read_json(path: Path):
    """Parse a JSON file; errors name the file, line and column."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: invalid JSON at column {e.colno}: {e.msg}") from None


def read_csv(path: Path, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """CSV rows as dicts with their line numbers; a missing column is an error naming it."""
    reader = csv.DictReader(io.StringIO(read_text(path)))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path}:1: missing column(s) {missing}; header is {reader.fieldnames}")
    return [(reader.line_num, row) for row in reader]


def check_unique(items: Iterable[tuple[str, str]], what: str, source: Path | str) -> None:
    """``items`` are (id, where) pairs; raise naming every duplicated id and where it occurs."""
    seen: dict[str, list[str]] = defaultdict(list)
    for key, where in items:
        seen[key].append(where)
    dups = {k: v for k, v in seen.items() if len(v) > 1}
    if dups:
        shown = "; ".join(f"{k!r} at {', '.join(v)}" for k, v in list(dups.items())[:10])
        raise ValueError(f"{source}: duplicate {what}: {shown}{' ...' if len(dups) > 10 else ''}")


def drop_empty(captions: list[CaptionRecord], source: Path | str,
               where: dict[str, str] | None = None) -> list[CaptionRecord]:
    """Remove captions with blank text, warning with their ids (and lines, if known).

    Skipping is safe: an empty caption carries no training or query signal. The
    warning keeps the skip visible.
    """
    empty = [c for c in captions if not c.text or not c.text.strip()]
    if not empty:
        return captions
    where = where or {}
    listed = [f"{c.caption_id}{' (' + where[c.caption_id] + ')' if c.caption_id in where else ''}"
              for c in empty]
    warnings.warn(f"{source}: skipped {len(empty)} empty caption(s): {fmt_ids(listed)}",
                  DataWarning, stacklevel=3)
    drop = {id(c) for c in empty}
    return [c for c in captions if id(c) not in drop]


def carve_val(train_ids: Iterable[str], n_val: int, seed: int) -> tuple[list[str], list[str]]:
    """Split a seeded validation set off the training ids; same seed, same split.

    Used where a release has no validation split, so model selection never touches
    test. Ids are sorted first so the carve does not depend on file order.
    """
    ids = sorted(set(train_ids))
    if not 0 <= n_val < len(ids):
        raise ValueError(f"cannot carve {n_val} validation videos from {len(ids)} training videos")
    val = set(random.Random(seed).sample(ids, n_val))
    return [i for i in ids if i not in val], sorted(val)


def resolve_langs(langs: Iterable[str] | None, available: Sequence[str], source: str) -> list[str]:
    """Canonical requested languages, each of which must be ``available``."""
    from mvkit.data.languages import normalize_lang
    if langs is None:
        return list(available)
    out = [normalize_lang(l, source) for l in langs]
    missing = [l for l in out if l not in available]
    if missing:
        raise ValueError(f"{source}: languages {missing} not in this dataset; it has {list(available)}")
    return out
