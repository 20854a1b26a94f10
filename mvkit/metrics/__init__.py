"""Exact, explicit, scalable retrieval metrics.

* ``ranks`` / ``text_video_ranks`` (ranks.py): 1-based ranks by counting, no sort, with a
  written tie rule (pessimistic by default) and O(chunk x G) extra memory.
* ``summarize``, ``bootstrap_ci``, ``paired_test``, ``per_language_table`` (summary.py).
* ``Protocol``, ``RetrievalResult``, ``evaluate`` (protocol.py): numbers carry their protocol.
* ``RetrievalAccumulator`` (accumulator.py): batched evaluation, ranked once at the end.
* ``dual_softmax`` (normalization.py): an explicit, protocol-changing test-time option.
"""
from mvkit.metrics.accumulator import RetrievalAccumulator
from mvkit.metrics.normalization import dual_softmax
from mvkit.metrics.protocol import CAPTION_RULES, Protocol, RetrievalResult, evaluate
from mvkit.metrics.ranks import ranks, text_video_ranks
from mvkit.metrics.summary import (
    METRICS,
    Interval,
    PairedTest,
    bootstrap_ci,
    paired_test,
    per_language_table,
    summarize,
)

__all__ = [
    "CAPTION_RULES",
    "METRICS",
    "Interval",
    "PairedTest",
    "Protocol",
    "RetrievalAccumulator",
    "RetrievalResult",
    "bootstrap_ci",
    "dual_softmax",
    "evaluate",
    "paired_test",
    "per_language_table",
    "ranks",
    "summarize",
    "text_video_ranks",
]
