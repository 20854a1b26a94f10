"""Notebooks 00 and 04 in a real JupyterLab, driven in headless Chromium, checked as a person sees them.

Each notebook is opened in JupyterLab, run with *Run > Run All Cells*, and saved once the
kernel is idle. Then, by JupyterLab / ipywidgets DOM classes (never by cell contents, which
change): every code cell ran and shows no error; every image output is drawn; no widget
says "Error displaying widget"; the browser console has no errors. In notebook 04 the
failure gallery (found by its controls' labels) is clicked: another language and another
query change the caption and the ranked clips shown, and the second model's row appears
when asked for; screenshots before and after land in the output folder. Finally each saved
notebook is exported with ``jupyter nbconvert --to html`` and the page is opened from disk
with every network request refused: its figures and the gallery's static rows render.

Run alone: ``MVKIT_HOME=$PWD/.cache/mvkit-test .venv/bin/python -m pytest tests/browser -v -s``
(``-s`` prints the run times and the click round trips; the server always runs the smoke world).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TIMEOUT_MS = 60_000
RUN_TIMEOUT_S = 600

# What the page shows, read by DOM class (cells in order; windowingMode "none" keeps all attached).
CELLS_JS = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'))
  .map(cell => ({
    prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
    images: Array.from(cell.querySelectorAll('.jp-OutputArea-output img')).map(img => ({
      loaded: img.complete && img.naturalWidth > 0, w: img.naturalWidth, h: img.naturalHeight,
      figure: !!img.closest('.jp-RenderedImage')})),
    stderr: Array.from(cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
      .map(e => e.textContent),
    widgets: cell.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length,
    text: (cell.querySelector('.jp-Cell-outputArea') || {}).textContent || '',
  }))"""

# The gallery: the innermost widget box holding a dropdown labelled "language" and one labelled "query".
GALLERY_JS = """() => {
  const has = (box, label) => Array.from(box.querySelectorAll('.widget-dropdown > label'))
      .some(l => l.textContent.trim() === label);
  const boxes = Array.from(document.querySelectorAll('.widget-vbox')).filter(b => has(b, 'language') && has(b, 'query'));
  const inner = boxes.filter(b => !boxes.some(o => o !== b && b.contains(o)));
  inner.forEach((b, i) => b.setAttribute('data-test-gallery', String(i)));
  return inner.length;
}"""

VIEW_JS = """(box) => Array.from(box.querySelectorAll('.mvkit-query')).map(row => ({
  row: row.dataset.row || '', lang: row.dataset.lang || '', caption_id: row.dataset.captionId || '',
  title: (row.querySelector('.mvkit-query-title') || {}).textContent || '',
  tiles: Array.from(row.querySelectorAll('figure')).map(f => f.textContent.trim()),
  loaded: Array.from(row.querySelectorAll('img')).every(img => img.complete && img.naturalWidth > 0),
}))"""


@dataclass
class Ran:
    """A notebook run in the browser: its page, console, saved file and what its cells showed."""

    name: str
    page: Any
    console: Any
    saved: dict
    cells: list[dict]
    seconds: float


def _wait_until_run(page: Any, timeout: float = RUN_TIMEOUT_S) -> None:
    """Until the kernel is idle and no cell is queued or running, twice in a row."""
    deadline, calm = time.monotonic() + timeout, 0
    while calm < 2:
        if time.monotonic() > deadline:
            raise AssertionError(f"cells still running after {timeout} s")
        dialog = page.evaluate("() => Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText)")
        if dialog:
            raise AssertionError(f"JupyterLab shows a dialog during the run: {dialog}")
        busy = page.evaluate("""() => {
            const ind = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
            const running = Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputArea-prompt'))
                .some(p => p.textContent.includes('*'));
            return running || !ind || ind.dataset.status !== 'idle';
        }""")
        calm = 0 if busy else calm + 1
        time.sleep(1.0)


def run_in_lab(new_page: Any, lab: Any, out: Path, name: str) -> Ran:
    """Open ``name`` in JupyterLab, run all cells through the menu, save, read the DOM."""
    page, console = new_page()
    page.set_default_timeout(TIMEOUT_MS)
    # a fresh workspace per notebook: the page shows this notebook only
    page.goto(f"{lab.url}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    # the kernel has started and is idle (before it connects the indicator says "idle" too)
    page.wait_for_function("""() => /\\| Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')
        && !(document.querySelector('#jp-main-statusbar')?.innerText || '').includes('No Kernel')""")
    t0 = time.monotonic()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-InputArea-prompt'))
        .some(p => /[*0-9]/.test(p.textContent))""")             # the run has started
    _wait_until_run(page)
    seconds = time.monotonic() - t0
    path = lab.root / name
    before = path.stat().st_mtime_ns
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    for _ in range(60):
        if path.stat().st_mtime_ns != before:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"JupyterLab did not save {name} within 30 s (Ctrl+S)")
    time.sleep(1.0)                        # the write is atomic; give the rename a moment
    saved = json.loads(path.read_text())
    (out / name.replace(".ipynb", ".executed.ipynb")).write_text(json.dumps(saved, indent=1))
    page.screenshot(path=str(out / name.replace(".ipynb", ".lab.png")), full_page=False)
    cells = page.evaluate(CELLS_JS)
    return Ran(name, page, console, saved, cells, seconds)


# ---- fixtures: each notebook runs once per session ------------------------------------------
@pytest.fixture(scope="module")
def runs(new_page, lab, out_dir):
    cache: dict[str, Ran] = {}

    def get(name: str) -> Ran:
        if name not in cache:
            cache[name] = run_in_lab(new_page, lab, out_dir, name)
            cache[name].console.save(out_dir / name.replace(".ipynb", ".console.log"))
        return cache[name]

    yield get
    for ran in cache.values():               # pages are closed by new_page
        ran.console.save(out_dir / ran.name.replace(".ipynb", ".console.log"))


def _outputs(saved: dict) -> list[list[dict]]:
    return [c.get("outputs", []) for c in saved["cells"]]


def check_ran_cleanly(ran: Ran) -> None:
    """Every code cell ran, none shows an error, every image is drawn, no widget failed, console clean."""
    saved_cells = ran.saved["cells"]
    assert len(ran.cells) == len(saved_cells), "the page shows another number of cells than the notebook has"
    for i, (dom, cell) in enumerate(zip(ran.cells, saved_cells)):
        if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
            continue
        assert cell.get("execution_count"), f"{ran.name} cell {i} did not run (prompt {dom['prompt']!r})"
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        assert not errors, f"{ran.name} cell {i} raised {errors[0]['ename']}: {errors[0]['evalue']}"
        tracebacks = [t for t in dom["stderr"] if "Traceback (most recent call last)" in t]
        assert not tracebacks, f"{ran.name} cell {i} shows a traceback: {tracebacks[0][:500]}"
        assert "Error displaying widget" not in dom["text"], f"{ran.name} cell {i}: {dom['text'][:300]}"
        n_png = sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
        figures = [im for im in dom["images"] if im["figure"]]
        assert len(figures) == n_png, f"{ran.name} cell {i}: {n_png} image outputs, {len(figures)} drawn"
        bad = [im for im in dom["images"] if not im["loaded"]]
        assert not bad, f"{ran.name} cell {i}: {len(bad)} image(s) not drawn"
    assert not ran.console.errors, f"{ran.name}: browser console errors:\n" + "\n".join(ran.console.errors[:10])


# ---- notebook 00 --------------------------------------------------------------------------------
def test_quickstart_runs_in_jupyterlab(runs):
    ran = runs("00_quickstart.ipynb")
    check_ran_cleanly(ran)
    figures = [im for c in ran.cells for im in c["images"] if im["figure"]]
    # the quick-start shows at least its training curves, the per-language bars and the map
    assert len(figures) >= 3 and all(im["w"] >= 200 and im["h"] >= 100 for im in figures), figures
    print(f"\n00_quickstart: all cells ran in JupyterLab in {ran.seconds:.1f} s, {len(figures)} figures drawn")


# ---- notebook 04 --------------------------------------------------------------------------------
def test_failure_gallery_runs_in_jupyterlab(runs):
    ran = runs("04_failure_gallery.ipynb")
    check_ran_cleanly(ran)
    assert ran.page.evaluate(GALLERY_JS) == 1, "expected one gallery widget (dropdowns 'language' and 'query')"
    assert sum(c["widgets"] for c in ran.cells) > 0
    print(f"\n04_failure_gallery: all cells ran in JupyterLab in {ran.seconds:.1f} s")


class Gallery:
    """The gallery widget on the page, driven by its controls' labels."""

    def __init__(self, page: Any) -> None:
        assert page.evaluate(GALLERY_JS) == 1, "gallery widget not found"
        self.page = page
        self.box = page.locator('[data-test-gallery="0"]')

    def select(self, label: str) -> Any:
        return self.box.locator(f'.widget-dropdown:has(> label:text-is("{label}")) select')

    def options(self, label: str) -> list[str]:
        return self.select(label).evaluate("s => Array.from(s.options).map(o => o.textContent)")

    def value(self, label: str) -> str:
        return self.select(label).evaluate("s => s.options[s.selectedIndex]?.textContent ?? ''")

    def view(self) -> list[dict]:
        return self.box.evaluate(VIEW_JS)

    def choose(self, label: str, option: str, until: Any, timeout: float = 60) -> tuple[list[dict], float]:
        """Pick ``option`` in the dropdown ``label``; wait until ``until(view)``; return (view, seconds)."""
        t0 = time.monotonic()
        self.select(label).select_option(label=option)
        while True:
            view = self.view()
            if view and until(view) and all(r["loaded"] for r in view):
                return view, time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"after choosing {option!r} in {label!r} the view did not update: {view}")
            time.sleep(0.05)


def test_failure_gallery_interaction(runs, out_dir):
    ran = runs("04_failure_gallery.ipynb")
    g = Gallery(ran.page)
    g.box.scroll_into_view_if_needed()
    timings = {}
    # one row: no second model, no second language
    if g.value("vs model") != "(none)":
        g.choose("vs model", "(none)", until=lambda v: all(r["row"] != g.value("vs model") for r in v))
    if g.value("vs language") != "(none)":
        _, timings["vs language off"] = g.choose("vs language", "(none)", until=lambda v: len(v) == 1)
    first = g.view()
    assert len(first) == 1 and first[0]["title"] and first[0]["tiles"], first
    g.box.screenshot(path=str(out_dir / "gallery-before.png"))

    lang = next(o for o in g.options("language") if o != first[0]["lang"])
    by_lang, timings["language"] = g.choose("language", lang, until=lambda v: v[0]["caption_id"] != first[0]["caption_id"])
    assert by_lang[0]["lang"] == lang and by_lang[0]["title"] != first[0]["title"]
    assert by_lang[0]["tiles"] != first[0]["tiles"], "another language's query shows the same ranked clips"

    queries = g.options("query")
    assert len(queries) >= 2, f"only {len(queries)} {lang} queries listed"
    other_q = next(q for q in queries if q != g.value("query"))
    by_query, timings["query"] = g.choose("query", other_q,
                                          until=lambda v: v[0]["caption_id"] != by_lang[0]["caption_id"])
    assert other_q.startswith(by_query[0]["caption_id"]), (other_q, by_query[0]["caption_id"])
    assert by_query[0]["title"] != by_lang[0]["title"] and by_query[0]["tiles"] != by_lang[0]["tiles"]

    model = g.value("model")
    second = next(o for o in g.options("vs model") if o not in ("(none)", model))
    both, timings["vs model"] = g.choose("vs model", second, until=lambda v: len(v) == 2)
    assert [r["row"] for r in both] == [model, second]
    assert both[1]["caption_id"] == by_query[0]["caption_id"] and both[1]["title"].startswith(f"{second}: ")
    g.box.screenshot(path=str(out_dir / "gallery-after.png"))
    assert not ran.console.errors, "browser console errors:\n" + "\n".join(ran.console.errors[:10])
    (out_dir / "gallery-clicks.json").write_text(json.dumps(timings, indent=1))
    print("\nclick -> redrawn view in the browser: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))


# ---- the static pages -------------------------------------------------------------------------
def export_html(saved: Path, out: Path) -> Path:
    """What ``jupyter nbconvert --to html`` makes of a notebook as JupyterLab saved it (in-process)."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(saved))
    out.mkdir(parents=True, exist_ok=True)
    page = out / saved.name.replace(".ipynb", ".html")
    page.write_text(body, encoding="utf-8")
    return page


@pytest.mark.parametrize("name", ["00_quickstart.ipynb", "04_failure_gallery.ipynb"])
def test_static_html_renders_without_kernel(runs, new_page, out_dir, name):
    ran = runs(name)
    page_path = export_html(out_dir / name.replace(".ipynb", ".executed.ipynb"), out_dir / "static")
    refused: set[str] = set()
    # the refused requests (nbconvert's CDN scripts: require.js, MathJax) may log load errors
    page, console = new_page(ignore=lambda m: (m.location or {}).get("url") in refused)

    def route(r: Any) -> None:            # a file on disk: nothing may come from a server
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            refused.add(r.request.url)
            r.abort()

    page.route("**/*", route)
    try:
        page.goto(page_path.as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        shown = page.evaluate("""() => ({
          figures: Array.from(document.querySelectorAll('.jp-OutputArea-output img'))
                     .map(i => i.complete && i.naturalWidth > 0),
          rows: Array.from(document.querySelectorAll('.mvkit-query')).map(r => ({
                     tiles: r.querySelectorAll('figure img').length,
                     loaded: Array.from(r.querySelectorAll('img')).every(i => i.complete && i.naturalWidth > 0)})),
          text: document.body.innerText})""")
        page.screenshot(path=str(out_dir / name.replace(".ipynb", ".static.png")), full_page=True)
        if shown["rows"]:
            page.locator(".jp-OutputArea-output:has(.mvkit-query)").first.screenshot(
                path=str(out_dir / name.replace(".ipynb", ".static-gallery.png")))
    finally:
        console.save(out_dir / name.replace(".ipynb", ".static.console.log"))
        page.close()
    n_png = sum("image/png" in o.get("data", {}) for outs in _outputs(ran.saved) for o in outs)
    assert n_png >= 1 and len(shown["figures"]) >= n_png and all(shown["figures"]), (n_png, shown["figures"])
    assert "Traceback (most recent call last)" not in shown["text"]
    if name.startswith("04"):
        # the gallery's snapshot (no widget state saved) and the HTML view cell, thumbnails inline
        assert len(shown["rows"]) >= 2 and all(r["tiles"] and r["loaded"] for r in shown["rows"]), shown["rows"]
    assert not console.errors, "console errors on the static page:\n" + "\n".join(console.errors[:10])
