"""The embedded world written by ``mvkit synth --out DIR`` (see docs/DESIGN.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mvkit.data.records import RetrievalDataset


def read_embedded(root: str | Path, **kw: Any) -> RetrievalDataset:
    """Load a generated world directory (it holds ``world.json``) through the synth package.

    ``**kw`` goes to :func:`mvkit.data.synth.load_world` (e.g. ``partial=True`` to
    include RUDDER-style probe captions and their labels).
    """
    root = Path(root)
    if not (root / "world.json").is_file():
        raise FileNotFoundError(f"{root / 'world.json'}: not an embedded world "
                                f"(run `mvkit synth --out {root}`)")
    from mvkit.data.synth import load_world  # lazy: the generator pulls in PyAV and numpy
    return load_world(root, **kw)
