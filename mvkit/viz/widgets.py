"""The interactive failure gallery of notebook 04: a thin ipywidgets layer.

Dropdowns pick a model, a language and a query (optionally failures only), a second
model and a second language to compare; every change calls the tested pure functions
(:func:`mvkit.analysis.failures.query_view`, :func:`~mvkit.analysis.failures.counterpart`)
and the static renderers (:func:`mvkit.viz.gallery.rows_html`,
:func:`~mvkit.viz.gallery.render_rows`). Nothing is computed in the callbacks that is not
available without a browser: :meth:`FailureGallery.views`, :meth:`~FailureGallery.figure`
and :meth:`~FailureGallery.html` give the same view as a figure or HTML, and tests drive
the handlers by setting widget values directly.

A click must redraw within about half a second on a 2-core CPU, also for a 10,000-clip
gallery (``mvkit bench gallery`` measures it), so: true ranks are computed once, when the
gallery is built; a view reads one row of the similarity matrix and is kept for the next
time the same selection comes back; the default view is HTML whose thumbnails are encoded
the first time a clip is shown (:class:`~mvkit.viz.gallery.Thumbnails`, over decoded
frames that :class:`~mvkit.viz.gallery.FrameSource` keeps). ``as_html=False`` draws a
matplotlib figure instead (slower: ~0.3-1 s a redraw).

Displayed, the gallery also carries a static HTML snapshot of its current view, which
``jupyter nbconvert --to html`` shows when the notebook holds no widget state.
"""
from __future__ import annotations

import base64
import io
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from mvkit.analysis.failures import (
    QueryView,
    as_similarity,
    counterpart,
    positives_matrix,
    query_view,
    true_ranks,
)
from mvkit.viz.gallery import FrameGetter, FrameSource, Thumbnails, render_rows, rows_html

NONE = "(none)"
NO_MATCH = "no query matches (try another language, or untick 'failures only')"


class FailureGallery:
    """Browse retrieval results per model, language and query; compare models and languages.

    ``sims`` maps a model name to its ``[Q, G]`` text-to-video similarity (rows follow
    ``captions``, columns follow ``videos``); one matrix alone is named ``"model"``.
    ``frames`` returns key frames for a video id (default: a
    :class:`~mvkit.viz.gallery.FrameSource` over ``dataset``). ``positives`` (bool
    ``[Q, G]``) overrides "a caption's own video is the only positive". ``as_html``
    (default) shows the view as HTML with inline thumbnails (any script, fast); ``False``
    shows the :func:`~mvkit.viz.gallery.render_rows` figure.
    """

    def __init__(
        self,
        sims: Mapping[str, Any] | Any,
        captions: Sequence[Any],
        videos: Sequence[Any],
        frames: FrameGetter | None = None,
        *,
        dataset: Any = None,
        k: int = 5,
        n_frames: int = 3,
        failures_only: bool = True,
        positives: Any = None,
        as_html: bool = True,
        cache_views: int = 1024,
    ) -> None:
        import ipywidgets as w  # notebooks extra; imported only when a widget is built

        self.sims = {"model": as_similarity(sims)} if not isinstance(sims, Mapping) else {
            name: as_similarity(s) for name, s in sims.items()}
        if not self.sims:
            raise ValueError("FailureGallery needs at least one similarity matrix")
        shape = (len(captions), len(videos))
        bad = {n: s.shape for n, s in self.sims.items() if s.shape != shape}
        if bad:
            raise ValueError(f"similarity shapes {bad} do not match {shape[0]} captions x {shape[1]} videos")
        self.captions, self.videos = list(captions), list(videos)
        self.video_ids = [getattr(v, "video_id", v) for v in self.videos]
        if positives is None:
            self.positives = positives_matrix(captions=self.captions, videos=self.videos)
        else:
            self.positives = positives_matrix(positives, shape[1])
        self.frames = frames if frames is not None else FrameSource(dataset, num_frames=n_frames)
        self.thumbnails = Thumbnails(self.frames, n_frames)
        self.k, self.n_frames, self.as_html = k, n_frames, as_html
        # computed once: every query's true rank per model, and the queries of each language
        self.ranks = {n: true_ranks(s, self.positives) for n, s in self.sims.items()}
        self._by_lang: dict[str, list[int]] = {}
        for i, c in enumerate(self.captions):
            self._by_lang.setdefault(c.lang, []).append(i)
        self._labels: dict[tuple[str, int], str] = {}
        self._view_cache: OrderedDict[tuple[str, int], QueryView] = OrderedDict()
        self._cache_views = cache_views
        self.last_figure: Figure | None = None
        self.last_views: dict[str, QueryView] = {}
        self._busy = False

        models = list(self.sims)
        langs = sorted(self._by_lang)
        self.model = w.Dropdown(options=models, value=models[0], description="model")
        self.compare_model = w.Dropdown(options=[NONE] + models, value=NONE, description="vs model")
        self.language = w.Dropdown(options=langs, value=langs[0], description="language")
        self.other_language = w.Dropdown(options=[NONE] + langs, value=NONE, description="vs language")
        self.failures_only = w.Checkbox(value=failures_only, description="failures only")
        self.query = w.Dropdown(options=[], description="query", layout=w.Layout(width="70%"))
        self.view = w.HTML(layout=w.Layout(width="100%"))
        for ctrl in (self.model, self.language, self.failures_only):
            ctrl.observe(self._on_filter, names="value")
        for ctrl in (self.query, self.compare_model, self.other_language):
            ctrl.observe(self._on_view, names="value")
        self.widget = w.VBox([
            w.HBox([self.model, self.compare_model]),
            w.HBox([self.language, self.other_language, self.failures_only]),
            self.query,
            self.view,
        ])
        self.widget.add_class("mvkit-failure-gallery")
        self._on_filter()

    # ---- pure parts (no browser needed) -----------------------------------------------
    def query_options(self, lang: str, model: str, failures_only: bool) -> list[tuple[str, int]]:
        """(label, caption index) of the queries in ``lang``, failures (rank > 1) only if asked."""
        ranks = self.ranks[model]
        return [(self._label(model, i), i) for i in self._by_lang.get(lang, [])
                if not (failures_only and ranks[i] <= 1)]

    def _label(self, model: str, i: int) -> str:
        label = self._labels.get((model, i))
        if label is None:
            c = self.captions[i]
            text = c.text if len(c.text) <= 60 else c.text[:57] + "..."
            label = self._labels[(model, i)] = f"{c.caption_id} (rank {self.ranks[model][i]}): {text}"
        return label

    def _view(self, model: str, row: int) -> QueryView:
        """One model's view of one query, computed once (O(G): one similarity row)."""
        key = (model, row)
        view = self._view_cache.pop(key, None)
        if view is None:
            view = query_view(self.sims[model], row, self.k, self.positives,
                              captions=self.captions, videos=self.video_ids)
            if len(self._view_cache) >= self._cache_views:
                self._view_cache.popitem(last=False)
        self._view_cache[key] = view
        return view

    def views(self, q: int | None = None) -> dict[str, QueryView]:
        """The rows to show for query ``q`` (default: the selected one), keyed by row name.

        First the selected model on the query; then the comparison model on the same
        query; then the selected model on the query's counterpart in the other language.
        """
        q = self.query.value if q is None else q
        if q is None:
            return {}
        model = self.model.value
        out = {model: self._view(model, q)}
        if self.compare_model.value not in (NONE, model):
            out[self.compare_model.value] = self._view(self.compare_model.value, q)
        other = self.other_language.value
        if other not in (NONE, self.captions[q].lang):
            j = counterpart(self.captions, q, other)
            if j is not None:
                out[f"{model}, {other}"] = self._view(model, j)
        return out

    def figure(self, q: int | None = None) -> Figure | None:
        """The current view as a matplotlib figure (what nbval and exported HTML keep)."""
        views = self.views(q)
        return render_rows(views, self.frames, n_frames=self.n_frames) if views else None

    def html(self, q: int | None = None) -> str:
        """The current view as HTML with inline thumbnails."""
        return rows_html(self.views(q), self.frames, n_frames=self.n_frames, thumbnails=self.thumbnails)

    # ---- handlers ---------------------------------------------------------------------
    def _on_filter(self, change: Any = None) -> None:
        """Language, model or the failures switch changed: refill the query list, redraw."""
        self._busy = True
        try:
            opts = self.query_options(self.language.value, self.model.value, self.failures_only.value)
            valid = {i for _, i in opts}
            keep = self.query.value if self.query.value in valid else None
            self.query.options = opts
            self.query.value = keep if keep is not None else (opts[0][1] if opts else None)
        finally:
            self._busy = False
        self.refresh()

    def _on_view(self, change: Any = None) -> None:
        if not self._busy:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the views and draw them into the view widget (HTML, or a figure's PNG)."""
        views = self.views()
        self.last_views = views
        if self.last_figure is not None:
            plt.close(self.last_figure)
            self.last_figure = None
        if not views:
            self.view.value = f"<i>{NO_MATCH}</i>"
            return
        if self.as_html:
            self.view.value = rows_html(views, self.frames, n_frames=self.n_frames, thumbnails=self.thumbnails)
            return
        fig = render_rows(views, self.frames, n_frames=self.n_frames)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")   # what the inline backend would send
        plt.close(fig)   # kept as last_figure for inspection, never shown by pyplot itself
        self.last_figure = fig
        png = base64.b64encode(buf.getvalue()).decode("ascii")
        self.view.value = f'<img class="mvkit-gallery-figure" src="data:image/png;base64,{png}" style="max-width:100%">'

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The live widget, plus its current view as static HTML for pages without widget state."""
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.view.value
        return bundle
