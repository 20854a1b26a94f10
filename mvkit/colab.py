"""How a notebook installs mvkit on Colab: the one install source, and the first cell that uses it.

Every notebook's first code cell is :data:`FIRST_CELL` (a test holds them to it; rewrite them
with ``python tools/refresh_notebooks.py --first-cell``). On Colab only, the cell installs
``mvkit[notebooks]`` from, in this order:

1. ``$MVKIT_SOURCE``, any pip direct reference: a published copy
   (``git+https://github.com/<owner>/mvkit@<tag>``), a fork, a wheel (``file:///...whl``);
2. the clone the notebook sits in: a folder holding ``mvkit/__init__.py`` at ``..`` (the
   notebook opened from ``<clone>/notebooks``), ``.`` or ``mvkit`` (after
   ``!git clone <url>`` in ``/content``);
3. :data:`RELEASE_SOURCE`, the published release, once there is one.

mvkit has no published release yet, so :data:`RELEASE_SOURCE` is empty and the cell asks for
one of the first two rather than guessing a URL. Everywhere else the cell only seeds and picks
the device. This module imports nothing: the cell's text must exist before mvkit is installed.
"""
from __future__ import annotations

#: The published release (a pip direct reference), e.g. "git+https://github.com/<owner>/mvkit@v0.2.0".
#: Empty: not published yet. Set it here and rewrite the notebooks' first cells.
RELEASE_SOURCE = ""
#: The environment variable that names another source (a fork, a tag, a wheel).
SOURCE_ENV = "MVKIT_SOURCE"
#: The folders (relative to the notebook) where a clone is looked for.
CLONE_CANDIDATES = ("..", ".", "mvkit")


def first_cell(release: str = RELEASE_SOURCE) -> str:
    """The first code cell of every notebook, with ``release`` as the last-resort source."""
    fallback = repr(release) if release else '""'
    return "\n".join([
        "import os, sys",
        'if "google.colab" in sys.modules:  # Colab only: install mvkit (docs/install.md, "Colab")',
        f"    CLONE = next((os.path.abspath(d) for d in {CLONE_CANDIDATES!r} if os.path.isfile(f\"{{d}}/mvkit/__init__.py\")), None)",
        f'    SOURCE = os.environ.get("{SOURCE_ENV}") or (f"file://{{CLONE}}" if CLONE else {fallback})',
        f'    assert SOURCE, "open this notebook from a clone of mvkit, or %env {SOURCE_ENV}=git+https://github.com/<owner>/mvkit@<tag>"',
        '    %pip install -q "mvkit[notebooks] @ $SOURCE"',
        "import mvkit",
        "device = mvkit.setup(seed=0)  # seeds Python/NumPy/torch; CUDA if present, else CPU",
        "SMOKE = mvkit.smoke()         # MVKIT_SMOKE=1 (CI, nbval): a small world and fewer epochs",
        "device",
    ])


#: The first code cell of every notebook (see the module docstring).
FIRST_CELL = first_cell()
