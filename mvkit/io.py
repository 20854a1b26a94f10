"""Atomic, crash-safe writes: a file is either the old one or the complete new one.

Every long job in mvkit writes through these helpers, so a kill at any moment never
leaves a half-written checkpoint, shard, index or report behind. A failed write (disk
full, permission denied) raises an ``OSError`` that names the file it was writing, so a
command line can say in one line what failed and where (:func:`os_error_message`).
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it over ``path``.

    The temporary file lives in the same directory so the final ``os.replace`` is
    atomic on POSIX. On any exception the temporary file is removed and ``path`` is
    left untouched.
    """
    path = Path(path)
    with naming_os_errors(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with naming_os_errors(path):
            yield tmp_path
            with open(tmp_path, "rb") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp_path, 0o666 & ~_umask())   # mkstemp makes 0600; give the usual mode
            os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def naming_os_errors(path: str | os.PathLike) -> Iterator[None]:
    """Re-raise an ``OSError`` that names no file (a failed ``write``: disk full) naming ``path``.

    ``OSError(errno, ...)`` maps the errno to its subclass, so a permission error stays a
    ``PermissionError``.
    """
    try:
        yield
    except OSError as e:
        if e.filename is None and e.errno is not None:
            raise OSError(e.errno, e.strerror or os.strerror(e.errno), str(path)) from e
        raise


@contextlib.contextmanager
def naming_load_errors(path: str | os.PathLike, what: str = "checkpoint") -> Iterator[None]:
    """Re-raise a failure to parse ``path`` (truncated, corrupt, wrong format) as a ``ValueError`` naming it.

    Loaders (safetensors, ``torch.load``, pickle) raise their own types with messages that
    do not say which file; a missing file stays a ``FileNotFoundError``.
    """
    try:
        yield
    except FileNotFoundError:
        raise
    except Exception as e:
        if str(path) in str(e):      # already says which file
            raise
        raise ValueError(f"{path}: cannot load this {what} ({type(e).__name__}: {e}); "
                         f"the file may be truncated or corrupt, re-download or rebuild it") from e


def os_error_message(e: OSError) -> str:
    """One line for a user: ``<path>: <cause>``, e.g. ``out/run.json: no space left on device``."""
    cause = (e.strerror or (os.strerror(e.errno) if e.errno else str(e))).rstrip(".")
    cause = cause[:1].lower() + cause[1:]
    if e.filename is None:
        return str(e) if not e.strerror else cause
    where = str(e.filename) + (f" -> {e.filename2}" if getattr(e, "filename2", None) else "")
    return f"{where}: {cause}"


def make_temp_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """A fresh temporary directory under ``parent`` with the usual permissions.

    ``tempfile.mkdtemp`` makes it 0700; a store or world renamed into place from it would
    stay unreadable to the group, so the umask's mode is given instead (as for files).
    """
    with naming_os_errors(parent):
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (with parents) and check a file can be written in it; ``OSError`` naming it if not.

    Long jobs call this before their first step, so a read-only or full output folder
    fails in the first second rather than after the first epoch.
    """
    path = Path(path)
    with naming_os_errors(path):
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
        try:
            os.write(fd, b"mvkit")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as UTF-8 JSON (non-ASCII kept readable) to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent, sort_keys=False) + "\n")


def looks_like_pickle(data: bytes) -> bool:
    """True for the first bytes of a pickle of protocol 2 or later (``\\x80`` + protocol)."""
    return len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5


def read_text(path: str | os.PathLike) -> str:
    """A text file as UTF-8 (a byte-order mark is dropped); errors name the file (and line).

    A pickle is never read as text: it is refused with a message saying how to open it.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except OSError as e:
        raise OSError(f"{path}: unreadable ({e.strerror or e})") from None
    if looks_like_pickle(data[:2]):
        raise ValueError(f"{path}: this is a Python pickle, not text; mvkit never reads a pickle as text "
                         f"(name it .pkl or .pickle and pass allow_pickle=True to a reader that takes pickles)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not valid UTF-8 (byte offset {e.start})") from None


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; errors name the file and the line and column of the problem.

    Example:
        >>> import json, tempfile, os
        >>> from mvkit.io import read_json
        >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        ...     _ = f.write('{"a": 1, "b": }')
        >>> try:
        ...     read_json(f.name)
        ... except ValueError as e:
        ...     print(str(e).split(": ", 1)[1])
        invalid JSON at column 15: Expecting value
        >>> os.unlink(f.name)
    """
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: invalid JSON at column {e.colno}: {e.msg}") from None


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read a JSON-lines file (blank lines allowed); errors name the file and line."""
    path = Path(path)
    rows = []
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: invalid JSON: {e.msg}") from None
    return rows


def atomic_write_jsonl(path: str | os.PathLike, rows: list[dict]) -> None:
    """Write ``rows`` as JSON lines atomically."""
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
