"""Where mvkit keeps generated worlds, feature stores and runs by default."""
from __future__ import annotations

import os
from pathlib import Path


def mvkit_home() -> Path:
    """``$MVKIT_HOME`` if set, else ``~/.cache/mvkit``: the default root of generated data.

    Notebooks share it, so the world and its features are made once and reused.
    """
    return Path(os.environ.get("MVKIT_HOME", Path.home() / ".cache" / "mvkit")).expanduser()
