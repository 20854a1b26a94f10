"""The runnable examples in the central functions' docstrings run (and say what they print)."""
from __future__ import annotations

import doctest
import importlib

import pytest

#: function -> module: the functions a newcomer meets first each carry an example
CENTRAL = {
    "summarize": "mvkit.metrics.summary", "create_loss": "mvkit.losses.base",
    "create_model": "mvkit.models.factory", "create_encoder": "mvkit.features.encoders",
    "fit": "mvkit.train.trainer", "create_objective": "mvkit.train.objectives.factory",
    "create_text_encoder": "mvkit.models.text_encoders", "format_language_table": "mvkit.notebook.tables",
    "ranks": "mvkit.metrics.ranks", "text_video_ranks": "mvkit.metrics.ranks", "load": "mvkit.data",
    "read_json": "mvkit.io",
}


@pytest.mark.parametrize("name", sorted(CENTRAL))
def test_central_function_has_a_passing_example(name):
    module = importlib.import_module(CENTRAL[name])
    fn = getattr(module, name)
    assert ">>>" in (fn.__doc__ or ""), f"{name} has no runnable example"
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(fn, name, module=module) if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    res = runner.summarize(verbose=False)
    assert res.attempted > 0 and res.failed == 0
