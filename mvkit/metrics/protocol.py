"""Every retrieval number carries its protocol.

Published video-text numbers are often incomparable because the protocol is implicit:
which split, which direction, one caption per video or all of them, how ties are
credited, whether the test matrix was re-normalised with other test queries, and which
split chose the checkpoint. ``Protocol`` writes these down; ``RetrievalResult`` keeps
them next to the metrics and ranks; ``evaluate`` produces both directions at once.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from mvkit.metrics.ranks import NORMALIZATIONS, TIES, text_video_ranks
from mvkit.metrics.summary import bootstrap_ci, summarize

DIRECTIONS = ("t2v", "v2t")
# Known caption rules (free text is allowed for dataset-specific ones, but say what it is):
#   all-captions         every caption is a text->video query
#   any-correct-caption  video->text: the best of the video's own captions is ranked
#   first-caption        one caption per video (e.g. MSR-VTT 1k-A style), one query each
CAPTION_RULES = ("all-captions", "any-correct-caption", "first-caption")
DEFAULT_CAPTION_RULE = {"t2v": "all-captions", "v2t": "any-correct-caption"}


@dataclass(frozen=True)
class Protocol:
    """How a retrieval number was obtained (what a reader needs to compare it).

    ``normalization`` is ``"none"`` (default; each query ranked on its own) or
    ``"dual_softmax"`` (transductive re-weighting with the other test queries, with
    ``temperature``). ``selection_split`` is the split the checkpoint was chosen on; it
    should never be the evaluation split when that is ``test`` (see ``leaks_test``).
    """

    split: str = "test"
    direction: str = "t2v"
    caption_rule: str = ""
    ties: str = "pessimistic"
    normalization: str = "none"
    selection_split: str = "val"
    temperature: float | None = None
    dataset: str | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"Protocol.direction={self.direction!r}: expected one of {DIRECTIONS}")
        if self.ties not in TIES:
            raise ValueError(f"Protocol.ties={self.ties!r}: expected one of {TIES}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"Protocol.normalization={self.normalization!r}: expected one of {NORMALIZATIONS}")
        if self.normalization == "dual_softmax" and self.temperature is None:
            raise ValueError("Protocol(normalization='dual_softmax') needs its temperature recorded")
        if not self.caption_rule:
            object.__setattr__(self, "caption_rule", DEFAULT_CAPTION_RULE[self.direction])

    @property
    def leaks_test(self) -> bool:
        """True when the checkpoint was selected on the split it is evaluated on, test."""
        return self.split == self.selection_split == "test"

    def to_dict(self) -> dict:
        return {**asdict(self), "leaks_test": self.leaks_test}


@dataclass
class RetrievalResult:
    """Metrics (``summarize``), the ranks they came from, and the protocol."""

    protocol: Protocol
    metrics: dict[str, float]
    ranks: torch.Tensor | None = None
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_ranks(cls, ranks: Any, protocol: Protocol, ci: bool = False, n_boot: int = 1000,
                   seed: int = 0, level: float = 0.95) -> RetrievalResult:
        """Summarise ``ranks`` (optionally with bootstrap CIs over queries) under ``protocol``."""
        r = torch.as_tensor(ranks).long().cpu()
        metrics = summarize(r)
        intervals = {}
        if ci:
            for m in metrics:
                iv = bootstrap_ci(r, m, n_boot=n_boot, seed=seed, level=level)
                intervals[m] = (iv.low, iv.high)
        return cls(protocol, metrics, r, intervals)

    @property
    def n_queries(self) -> int | None:
        return None if self.ranks is None else int(self.ranks.numel())

    def to_dict(self) -> dict:
        """JSON-ready: protocol, metrics, CIs and the query count (not the ranks)."""
        out = {"protocol": self.protocol.to_dict(), "metrics": dict(self.metrics), "n_queries": self.n_queries}
        if self.ci:
            out["ci"] = {k: list(v) for k, v in self.ci.items()}
        return out


def evaluate(text_emb: Any, video_emb: Any, caption_video: Any, *, split: str = "test", selection_split: str = "val",
             ties: str = "pessimistic", normalization: str = "none", temperature: float = 0.01,
             sim_fn: Callable | None = None, chunk_size: int | None = None, dataset: str | None = None,
             language: str | None = None, ci: bool = False, seed: int = 0) -> dict[str, RetrievalResult]:
    """Both directions from embeddings (``text_video_ranks``), each with its protocol.

    Returns ``{"t2v": RetrievalResult, "v2t": RetrievalResult}``; the caption rules are
    "all-captions" and "any-correct-caption".
    """
    t2v, v2t = text_video_ranks(text_emb, video_emb, caption_video, chunk_size=chunk_size, ties=ties,
                                sim_fn=sim_fn, normalization=normalization, temperature=temperature)
    base = Protocol(split=split, ties=ties, normalization=normalization, selection_split=selection_split,
                    temperature=temperature if normalization != "none" else None,
                    dataset=dataset, language=language)
    return {
        d: RetrievalResult.from_ranks(r, replace(base, direction=d, caption_rule=DEFAULT_CAPTION_RULE[d]),
                                      ci=ci, seed=seed)
        for d, r in (("t2v", t2v), ("v2t", v2t))
    }
