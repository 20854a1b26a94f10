"""Explicit opt-in unpickling of annotation files.

Some dataset releases (CLIP4Clip's MSVD ``raw-captions.pkl``, C2KD's Multi-YouCook2,
Multi-MSRVTT and RUDDER ``*.pkl``, RUDDER's own ``raw-captions_<language>.pickle``) ship
Python pickles. Unpickling runs whatever code the file names, so mvkit never does it
behind the user's back: the caller must pass ``allow_pickle=True`` after deciding they
trust where the file came from. ``.pkl`` and ``.pickle`` are the same thing, and a reader
never falls back to reading a pickle as text (:func:`is_pickle`).
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from mvkit.io import looks_like_pickle

PICKLE_SUFFIXES = (".pkl", ".pickle")


class PickleNotAllowedError(PermissionError):
    """Raised when a pickled file would be loaded without the explicit opt-in."""


def is_pickle(path: str | os.PathLike) -> bool:
    """True when ``path`` is a pickle by name (``.pkl``, ``.pickle``) or by its first bytes."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            return looks_like_pickle(fh.read(2))
    except OSError:
        return False


def load_pickle(path: str | os.PathLike, allow_pickle: bool = False) -> Any:
    """Unpickle ``path`` only if ``allow_pickle`` is true; otherwise explain the risk.

    Why: a pickle is a program, not data — loading an untrusted one can run arbitrary
    code on this machine. Readers that accept pickled releases pass the caller's
    ``allow_pickle`` straight through, so the decision is always the user's.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    if not allow_pickle:
        raise PickleNotAllowedError(
            f"{path}: this is a Python pickle. Unpickling can run arbitrary code, so mvkit "
            f"does not load pickles by default. If you trust the file's origin (check its "
            f"sha256 against the dataset manifest with mvkit.data.manifests.verify), pass "
            f"allow_pickle=True, e.g. mvkit.data.load(..., allow_pickle=True)."
        )
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as e:
        raise ValueError(f"{path}: cannot unpickle ({type(e).__name__}: {e})") from None
