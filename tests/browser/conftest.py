"""A real JupyterLab server and a real headless Chromium for the browser tests.

Nothing is downloaded: the browser is the system's Chromium (Debian's ``chromium``
package, or ``$MVKIT_CHROMIUM``), driven by Playwright's Python package
(``executable_path=``; Playwright's own browser download is never used). Without a
Chromium every test here skips with one notice naming what to install.

The server listens on 127.0.0.1 on a free port with a random token, serves copies of the
notebooks (the checkout's files are never written), and has its own ``MVKIT_HOME``, Jupyter
config, settings, data and runtime folders under the output folder. Only the generated
worlds (with their feature stores) are shared with the caller's ``$MVKIT_HOME`` when that is
set, as ``make test`` does: they are deterministic and built atomically, and building them
again would only cost time. Runs (training) are the notebooks' own.

Everything a reviewer may want to see lands in :data:`OUT` (default
``.cache/browser-test/``): screenshots, the notebooks as executed and saved by JupyterLab,
their exported HTML pages, the browser console and the server log. The server, its kernels
and the browser are stopped at the end of the session, also when a test fails.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("MVKIT_BROWSER_OUT", REPO / ".cache" / "browser-test"))
NOTEBOOKS = ("00_quickstart.ipynb", "04_failure_gallery.ipynb")
# Chromium as root in a closed network: no sandbox, no GPU, and no background traffic
# (without these the browser keeps dialling out and the refused connections stall it).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
# JupyterLab settings for a test: every cell in the DOM (no virtual scrolling), no news or
# update checks (no internet), no autosave racing the explicit save.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def find_chromium() -> str | None:
    """``$MVKIT_CHROMIUM`` if set, else the first Chromium/Chrome on ``PATH``, else None."""
    env = os.environ.get("MVKIT_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if find_chromium() is None:
        where = f"MVKIT_CHROMIUM={os.environ['MVKIT_CHROMIUM']} does not exist" if os.environ.get(
            "MVKIT_CHROMIUM") else "no chromium on PATH"
        return (f"{where} (apt-get install chromium chromium-driver, "
                "or set MVKIT_CHROMIUM=/path/to/chrome)")
    missing = [m for m in ("playwright", "jupyterlab", "ipywidgets", "nbconvert") if not _importable(m)]
    if missing:
        return f"Python package(s) {', '.join(missing)} missing (pip install -e '.[notebooks,dev]')"
    return None


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def pytest_report_header(config: pytest.Config) -> str:
    reason = skip_reason()
    return f"browser tests skipped: {reason}" if reason else f"browser tests: {find_chromium()}, output in {OUT}"


def _required() -> bool:
    return os.environ.get("MVKIT_REQUIRE_BROWSER") == "1"


@pytest.hookimpl(tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport | None:
    """Skip each test module here whole (one summary line) when the browser cannot run."""
    if not isinstance(collector, pytest.Module) or Path(collector.path).parent != Path(__file__).parent:
        return None
    reason = skip_reason()
    if reason is None or _required():
        return None
    return pytest.CollectReport(collector.nodeid, "skipped", (str(collector.path), None, f"browser tests skipped: {reason}"), [])


@pytest.fixture(scope="session", autouse=True)
def _browser_available() -> None:
    """``MVKIT_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes a missing browser a failure.

    CI then never passes without having driven the browser.
    """
    reason = skip_reason()
    if reason:
        pytest.fail(f"MVKIT_REQUIRE_BROWSER=1 and the browser tests cannot run: {reason}", pytrace=False)


@pytest.fixture(scope="session")
def out_dir() -> Path:
    """The output folder, emptied at the start of the session (only this folder)."""
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    return OUT


# ---- the server --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A running ``jupyter lab`` (see :func:`start_lab`)."""

    proc: subprocess.Popen
    port: int
    token: str
    root: Path
    log: Path
    log_file: Any = field(repr=False, default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str, method: str = "GET", timeout: float = 10) -> Any:
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 40) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])


def _private_env(base: Path, home: Path) -> dict[str, str]:
    """The server's environment: this checkout first on the path, private Jupyter folders."""
    dirs = {name: base / name for name in ("config", "data", "runtime", "settings", "workspaces")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    for rel, values in LAB_SETTINGS.items():
        p = dirs["settings"] / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(values))
    path = os.pathsep.join([str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    return {**os.environ, "MVKIT_HOME": str(home), "MVKIT_SMOKE": "1", "PYTHONPATH": path,
            "JUPYTER_CONFIG_DIR": str(dirs["config"]), "JUPYTER_DATA_DIR": str(dirs["data"]),
            "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]), "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
            "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]), "JUPYTER_PLATFORM_DIRS": "1"}


def start_lab(out: Path, notebooks: tuple[str, ...] = NOTEBOOKS, timeout: float = 90) -> LabServer:
    """Copy ``notebooks`` into ``out/lab`` and serve them with JupyterLab on 127.0.0.1."""
    root = out / "lab"
    root.mkdir(parents=True)
    for name in notebooks:
        shutil.copy2(REPO / "notebooks" / name, root / name)
    home = out / "mvkit-home"
    home.mkdir()
    caller_home = os.environ.get("MVKIT_HOME")
    if caller_home:                      # share only the deterministic, atomically built worlds
        worlds = Path(caller_home).expanduser() / "worlds"
        worlds.mkdir(parents=True, exist_ok=True)
        (home / "worlds").symlink_to(worlds.resolve(), target_is_directory=True)
    port, token = free_port(), secrets.token_hex(16)
    log = out / "jupyterlab-server.log"
    log_file = log.open("w")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--ServerApp.terminals_enabled=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")       # CI and containers run as root
    proc = subprocess.Popen(cmd, cwd=root, env=_private_env(out / "jupyter", home), stdout=log_file,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = LabServer(proc, port, token, root, log, log_file)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log_file.close()
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            server.api("/api/status", timeout=2)
            return server
        except OSError:
            if time.monotonic() > deadline:
                stop_lab(server)
                raise RuntimeError(f"jupyter lab did not answer on {server.url} within {timeout:.0f} s:\n"
                                   f"{server.log_tail()}") from None
            time.sleep(0.5)


def stop_lab(server: LabServer) -> None:
    """Shut the server and its kernels down; kill by pid whatever is left (only ours)."""
    import psutil

    try:
        family = [server.proc.pid] + [c.pid for c in psutil.Process(server.proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = [server.proc.pid]
    try:
        server.api("/api/shutdown", method="POST", timeout=10)   # stops the kernels, then the server
    except OSError:
        pass
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)
    for pid in family[1:]:               # kernels that outlived their server
        try:
            p = psutil.Process(pid)
            p.terminate()
            p.wait(timeout=5)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            p.kill()
    if server.log_file is not None:
        server.log_file.close()


@pytest.fixture(scope="session")
def lab(out_dir: Path) -> Iterator[LabServer]:
    server = start_lab(out_dir)
    try:
        yield server
    finally:
        stop_lab(server)


# ---- the browser -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless system Chromium (a fresh temporary profile per launch), closed at the end."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


@dataclass
class Console:
    """Console errors and uncaught exceptions of one page, kept for asserts and the log file."""

    errors: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def attach(self, page: Any, ignore: Callable[[Any], bool] = lambda msg: False) -> Console:
        def on_console(msg: Any) -> None:
            loc = msg.location or {}
            line = f"[{msg.type}] {msg.text} ({loc.get('url', '')}:{loc.get('lineNumber', '')})"
            self.messages.append(line)
            if msg.type == "error" and not ignore(msg):
                self.errors.append(line)

        def on_error(exc: Any) -> None:
            line = f"[pageerror] {exc}"
            self.messages.append(line)
            self.errors.append(line)

        page.on("console", on_console)
        page.on("pageerror", on_error)
        return self

    def save(self, path: Path) -> None:
        path.write_text("\n".join(self.messages) + "\n")


@pytest.fixture(scope="module")
def new_page(browser: Any) -> Iterator[Callable[..., tuple[Any, Console]]]:
    """``new_page(ignore=None) -> (page, console)``: a 1400x1000 page whose console is recorded."""
    pages: list[Any] = []

    def make(ignore: Callable[[Any], bool] | None = None) -> tuple[Any, Console]:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        pages.append(page)
        return page, Console().attach(page, ignore or (lambda msg: False))

    yield make
    for page in pages:
        if not page.is_closed():
            page.close()
