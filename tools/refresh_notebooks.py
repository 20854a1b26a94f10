"""Run notebooks in smoke mode and keep only their ``# NBVAL_CHECK_OUTPUT`` cells' outputs.

nbval compares the committed output of those few cells (a stable count, table or verdict)
with a fresh smoke run; every other cell is committed without output. After editing a
notebook, refresh its checked outputs with::

    MVKIT_HOME=.cache/mvkit-test .venv/bin/python tools/refresh_notebooks.py notebooks/03_*.ipynb

Execution counts are kept on the checked cells only (nbval needs them there) and cleared
elsewhere; notebook metadata is left as it is. ``--first-cell`` only rewrites every given
notebook's first code cell to ``mvkit.colab.FIRST_CELL`` (the Colab install cell, after a
change of the install source), without running anything.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CHECK = "# NBVAL_CHECK_OUTPUT"


def refresh(path: Path, timeout: int = 1800) -> None:
    nb = nbformat.read(path, as_version=4)
    os.environ["MVKIT_SMOKE"] = "1"
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith(CHECK):
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "display_data"]
            for o in cell.outputs:
                o.pop("metadata", None) if o.get("output_type") == "stream" else None
        else:
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    print(f"{path}: refreshed")


def set_first_cell(path: Path) -> None:
    """Make the notebook's first code cell ``mvkit.colab.FIRST_CELL`` (nothing else changes)."""
    from mvkit.colab import FIRST_CELL

    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    if cell.source != FIRST_CELL:
        cell.source = FIRST_CELL
        nbformat.write(nb, path)
        print(f"{path}: first cell rewritten")


if __name__ == "__main__":
    args = sys.argv[1:]
    first_only = "--first-cell" in args
    for arg in [a for a in args if a != "--first-cell"]:
        set_first_cell(Path(arg)) if first_only else refresh(Path(arg))
