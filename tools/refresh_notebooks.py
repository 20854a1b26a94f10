"""Run notebooks in smoke mode and keep only their ``# NBVAL_CHECK_OUTPUT`` cells' outputs.

nbval compares the committed output of those few cells (a stable count, table or verdict)
with a fresh smoke run; every other cell is committed without output. After editing a
notebook, refresh its checked outputs with::

    MVKIT_HOME=.cache/mvkit-test .venv/bin/python tools/refresh_notebooks.py notebooks/03_*.ipynb

Execution counts are kept on the checked cells only (nbval needs them there) and cleared
elsewhere; notebook metadata is left as it is.
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


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        refresh(Path(arg))
