"""Shared checks of the grounding readers (QVHighlights, Charades-STA, TACoS): moments in seconds.

Every window is checked where it is read, so an error names the file and line:
``start >= end``, a window outside ``[0, duration]``, a query for a video the release
does not know. Real releases have a few such windows (Charades annotations end after the
video now and then; their maintainers clip them, gsig/charades-algorithms#5); with
``repair=True`` a reader clips windows to the video and drops the ones left empty --
listing every change in a :class:`~mvkit.data.readers.common.DataWarning`, never silently.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

from mvkit.data.readers.common import DataWarning, fmt_ids
from mvkit.data.records import SPAN_TOLERANCE, Span


@dataclass
class WindowCheck:
    """Checks windows against their video's duration; collects repairs for one warning."""

    source: str
    repair: bool = False
    repaired: list[str] = field(default_factory=list)

    def window(self, start: float, end: float, duration: float, where: str) -> Span | None:
        """The window as a :class:`Span`, repaired or ``None`` (dropped) with ``repair``; else an error."""
        problem = None
        if not start < end:
            problem = f"start {start:g} is not before end {end:g}"
        elif start < 0 or end > duration + SPAN_TOLERANCE:
            problem = f"window [{start:g}, {end:g}] lies outside the video (duration {duration:g} s)"
        if problem is None:
            return Span(start, end)
        if not self.repair:
            raise ValueError(f"{where}: {problem} (pass repair=True to clip such windows to the video "
                             "and drop empty ones, with a warning)")
        s, e = max(0.0, start), min(end, duration)
        self.repaired.append(f"{where} ({problem}: {'dropped' if not s < e else f'clipped to [{s:g}, {e:g}]'})")
        return Span(s, e) if s < e else None

    def warn(self) -> None:
        """One warning listing every repaired window (call once the file is read)."""
        if self.repaired:
            warnings.warn(f"{self.source}: repaired {len(self.repaired)} window(s): {fmt_ids(self.repaired)}",
                          DataWarning, stacklevel=3)


def number(value: object, what: str, where: str) -> float:
    """``float(value)`` or a ``ValueError`` naming ``where`` and what was expected."""
    try:
        x = float(value)   # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {what} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{where}: {what} {value!r} is not a finite number")
    return x
