"""Shared checks for the dataset readers: files that must exist, lines, ids, val carving.

Every reader reports bad input the same way: a ``FileNotFoundError`` or ``ValueError``
whose message starts with the file (and line) and lists the offending ids, or — where
skipping is harmless, e.g. an empty training caption — a ``warnings.warn`` that lists
what was skipped. Nothing is dropped silently.
"""
from __future__ import annotations

import csv
import io
import random
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from mvkit.data.records import CaptionRecord
from mvkit.io import read_text


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


def read_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based line numbers (trailing newline stripped)."""
    return [(i, ln.rstrip("\r\n")) for i, ln in enumerate(read_text(path).split("\n"), 1) if ln.strip()]


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


def carve_val(train_ids: Iterable[str], n_val: int, seed: int,
              source: Path | str = "") -> tuple[list[str], list[str]]:
    """Split a seeded validation set off the training ids; same seed, same split.

    Used where a release has no validation split, so model selection never touches
    test. Ids are sorted first so the carve does not depend on file order. ``n_val=0``
    carves nothing (evaluation-only or "no val" setups); errors name ``source``.
    """
    ids = sorted(set(train_ids))
    if n_val == 0:
        return ids, []
    if not 0 < n_val < len(ids):
        where = f"{source}: " if source else ""
        raise ValueError(f"{where}cannot carve {n_val} validation videos from {len(ids)} training videos "
                         f"(pass a smaller val_size, or val_size=0 for no validation split)")
    val = set(random.Random(seed).sample(ids, n_val))
    return [i for i in ids if i not in val], sorted(val)


def val_policy(split_of: dict[str, str], val_size: int, seed: int, source: Path | str) -> str:
    """Carve ``val`` from ``train`` in ``split_of`` (in place) when the release has none.

    Returns the sentence the dataset's ``meta["val"]`` records: a seeded carve, "none"
    for an evaluation-only release (no training split at all), or the release's own val.
    """
    splits = set(split_of.values())
    if "val" in splits:
        return "the release's own validation split"
    if "train" not in splits:
        return "none: evaluation-only release (no training split)"
    _, val = carve_val([v for v, s in split_of.items() if s == "train"], val_size, seed, source)
    split_of.update({v: "val" for v in val})
    if not val:
        return "none (val_size=0)"
    return f"{val_size} videos carved from train with seed {seed}"


def warn_scripts(captions: Iterable[CaptionRecord], source: Path | str) -> dict[str, int]:
    """Warn (with counts) about captions not written in the script of their declared language.

    A cheap regular-expression check per caption (``mvkit.data.languages.script_mismatch``):
    Devanagari in a caption declared English, Latin in one declared Marathi, ... so a
    language given wrongly to a reader never passes silently. Returns the counts
    ``{"<lang> -> <script>": n}`` (empty when everything matches).
    """
    from mvkit.data.languages import SCRIPT_NAMES, script_mismatch

    counts: dict[str, int] = defaultdict(int)
    examples: list[str] = []
    for c in captions:
        found = script_mismatch(c.text, c.lang)
        if found is not None:
            counts[f"{c.lang} -> {SCRIPT_NAMES.get(found, found)}"] += 1
            if len(examples) < 5:
                examples.append(c.caption_id)
    if counts:
        total = sum(counts.values())
        warnings.warn(f"{source}: {total} caption(s) are not written in the script of their declared "
                      f"language ({dict(counts)}; e.g. {fmt_ids(examples)}). Check the language given to "
                      f"the reader or the manifest.", DataWarning, stacklevel=3)
    return dict(counts)


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


def read_split_lists(root: Path, files: dict[str, str], noun: str = "video") -> dict[str, str]:
    """``video id -> split`` from one-id-a-line split lists (those of ``files`` that exist).

    A duplicate inside a list, or an id in two lists, raises naming the file and line.
    """
    split_of: dict[str, str] = {}
    where: dict[str, str] = {}
    for split, rel in files.items():
        lp = Path(root) / rel
        if not lp.is_file():
            continue
        lines = [(ln, s.strip()) for ln, s in read_lines(lp)]
        check_unique(((v, f"line {ln}") for ln, v in lines), f"{noun} ids", lp)
        for ln, v in lines:
            if v in split_of:
                raise ValueError(f"{lp}:{ln}: {noun} {v!r} is already in {where[v]}")
            split_of[v], where[v] = split, f"{rel} line {ln}"
    return split_of


def pickled_clips(path: Path, allow_pickle: bool, keys: str = "'caption_<lang>'") -> list[dict]:
    """The clip dicts of a pickled C2KD-style release (a list of dicts with ``id``), ids checked unique."""
    from mvkit.data.pickles import load_pickle

    data = load_pickle(path, allow_pickle=allow_pickle)
    if not isinstance(data, list) or not all(isinstance(e, dict) and "id" in e for e in data):
        raise ValueError(f"{path}: expected a list of dicts with 'id' and {keys} keys")
    check_unique(((str(e["id"]), f"entry [{i}]") for i, e in enumerate(data)), "clip ids", path)
    return data


def iter_split_clips(paths: dict[str, Path], allow_pickle: bool, split_of: dict[str, str],
                     keys: str = "'caption_<lang>'") -> Iterator[tuple[str, Path, int, dict]]:
    """``(split, file, index, clip)`` over the pickled clip lists of several splits.

    Fills ``split_of`` (clip id -> split); a clip in two files raises naming both.
    """
    for split, path in paths.items():
        for i, e in enumerate(pickled_clips(path, allow_pickle, keys)):
            vid = str(e["id"])
            if vid in split_of:
                raise ValueError(f"{path}: clip {vid!r} also appears in the {split_of[vid]} file")
            split_of[vid] = split
            yield split, path, i, e
