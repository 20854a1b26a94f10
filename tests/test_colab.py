"""The Colab install cell: every notebook starts with it, and run as Colab runs it, it installs mvkit.

The install test runs the canonical cell in IPython (``%pip`` and all) inside a fresh virtual
environment with ``google.colab`` present, twice: with ``MVKIT_SOURCE`` naming a git URL (what
a published copy is, here ``git+file://`` of a snapshot of this repository) and from a clone
(the notebook opened from ``<clone>/notebooks``). Nothing is downloaded: the fresh
environment sees the test environment's packages through a ``.pth`` file (every one but
mvkit's own, so pip must install mvkit from the source the cell picked), and pip runs without
an index and without build isolation.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
import tomllib

from mvkit.colab import FIRST_CELL, first_cell

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

RUN_CELL = r"""
import json, sys, types
sys.modules["google.colab"] = types.ModuleType("google.colab")      # what Colab has loaded
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
result = shell.run_cell(open(sys.argv[1], encoding="utf-8").read())
if result.error_in_exec is not None:
    print(json.dumps({"error": f"{type(result.error_in_exec).__name__}: {result.error_in_exec}"}))
    raise SystemExit(0)
import importlib.metadata as md
dist = md.distribution("mvkit")
print(json.dumps({"file": shell.user_ns["mvkit"].__file__, "version": dist.version,
                  "extras": dist.metadata.get_all("Provides-Extra"), "requires": dist.requires,
                  "direct_url": json.loads(dist.read_text("direct_url.json") or "{}"),
                  "device": str(shell.user_ns["device"])}))
"""


def test_every_notebook_starts_with_the_canonical_cell():
    assert len(NOTEBOOKS) >= 6
    for path in NOTEBOOKS:
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert first.source == FIRST_CELL, f"{path.name}: run tools/refresh_notebooks.py --first-cell"


def test_cell_names_its_sources_and_a_release_when_there_is_one():
    assert "MVKIT_SOURCE" in FIRST_CELL and '%pip install -q "mvkit[notebooks] @ $SOURCE"' in FIRST_CELL
    assert "github.com/OWNER" not in FIRST_CELL and "@v0.1.0" not in FIRST_CELL   # no placeholder URL
    assert "'git+https://github.com/x/mvkit@v1'" in first_cell("git+https://github.com/x/mvkit@v1")
    compile(FIRST_CELL.replace("%pip", "pass  #"), "cell", "exec")


def _fresh_venv(root: Path) -> Path:
    """A venv without pip whose site-packages sees this environment's packages except mvkit."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    deps = root / "deps"
    deps.mkdir()
    for site in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        for entry in Path(site).iterdir():
            if entry.name.startswith(("mvkit", "__editable__")) or entry.suffix == ".pth" \
                    or (deps / entry.name).exists():
                continue
            (deps / entry.name).symlink_to(entry)
    py = root / "venv" / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "mvkit-test-deps.pth").write_text(f"{deps}\n")
    return py


def _snapshot(dest: Path) -> Path:
    """The repository's tracked files as they are now, committed in a new git repository."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    git = ["git", "-c", "user.name=mvkit-test", "-c", "user.email=test@mvkit", "-c", "init.defaultBranch=main"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "snapshot"]):
        subprocess.run(git + cmd, cwd=dest, check=True)
    return dest


def _run_cell(py: Path, cell: Path, cwd: Path, source: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("MVKIT_SOURCE", None)
    if source is not None:
        env["MVKIT_SOURCE"] = source
    out = subprocess.run([str(py), "-c", RUN_CELL, str(cell)], cwd=cwd, env=env, capture_output=True, text=True,
                         check=False, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_colab_cell_installs_mvkit_from_a_url_and_from_a_clone(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is needed for the git+file:// source")
    py = _fresh_venv(tmp_path)
    repo = _snapshot(tmp_path / "mvkit")
    cell = tmp_path / "cell.py"
    cell.write_text(FIRST_CELL, encoding="utf-8")
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    venv_site = str(tmp_path / "venv")

    # nowhere to install from: one clear line, nothing installed
    (tmp_path / "empty").mkdir()
    got = _run_cell(py, cell, tmp_path / "empty", None)
    assert got["error"].startswith("AssertionError: open this notebook from a clone of mvkit, or %env MVKIT_SOURCE=")

    # a published copy: MVKIT_SOURCE is a git URL
    got = _run_cell(py, cell, tmp_path / "empty", f"git+file://{repo}")
    assert got["file"].startswith(venv_site), got          # mvkit from the fresh env, not the repo
    assert got["version"] == version and "notebooks" in got["extras"] and got["device"] in ("cpu", "cuda")
    assert got["direct_url"]["url"] == f"file://{repo}" and "vcs_info" in got["direct_url"]
    notebook_reqs = [r for r in got["requires"] if 'extra == "notebooks"' in r]
    assert {r.split(">")[0].split("=")[0].strip() for r in notebook_reqs} >= {"jupyterlab", "ipywidgets", "nbclient"}

    # a clone: the notebook runs in <clone>/notebooks, MVKIT_SOURCE unset
    got = _run_cell(py, cell, repo / "notebooks", None)
    assert got["file"].startswith(venv_site) and got["version"] == version, got
    assert got["direct_url"]["url"] == f"file://{repo}" and "dir_info" in got["direct_url"]
