"""The embedded world written by ``mvkit synth --out DIR`` (see docs/DESIGN.md)."""
from __future__ import annotations

from pathlib import Path

from mvkit.data.records import RetrievalDataset


def read_embedded(root: str | Path) -> RetrievalDataset:
    """Load a generated world directory (it holds ``world.json``) through the synth package."""
    root = Path(root)
    if not (root / "world.json").is_file():
        raise FileNotFoundError(f"{root / 'world.json'}: not an embedded world (run `mvkit synth --out {root}`)")
    from mvkit.data.synth import load_world  # lazy: the generator pulls in PyAV and numpy
    return load_world(root)
