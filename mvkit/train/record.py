"""The run record: one JSON file per training run saying what was run and what it scored.

It holds the full config, the evaluation protocol (which split selected the checkpoint —
always ``val`` — and which split produced the reported numbers), per-language metrics with
bootstrap 95% intervals, the selected epoch with the validation history that chose it,
timings and the environment, so a number in a notebook can be traced back and repeated.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mvkit.io import atomic_write_json, read_json


@dataclass
class RunRecord:
    """What ``fit`` returns and writes to ``<out>/run.json``.

    results: ``{lang: {"t2v": {R1, R5, R10, MdR, MnR, RSum}, "v2t": {...}, "ci": {...},
    "n_captions", "n_videos"}}`` on ``protocol["eval_split"]`` (normally ``test``);
    val_results: the same on ``val`` for the selected checkpoint;
    translate_test: the same with translate-test queries (machine translations into English
    of each language's human test captions, grouped by that language), when asked for;
    selection: ``{"split": "val", "criterion", "selected_epoch", "best_score", "history"}``;
    model_config: the resolved model config (named config + overrides) and parameter count.
    """

    config: dict[str, Any]
    protocol: dict[str, Any]
    selection: dict[str, Any]
    results: dict[str, Any]
    val_results: dict[str, Any]
    objective: dict[str, Any] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    translate_test: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: str | Path) -> Path:
        """Write the record as JSON atomically; returns the path."""
        path = Path(path)
        atomic_write_json(path, self.to_dict())
        return path

    @classmethod
    def read(cls, path: str | Path) -> RunRecord:
        """Load a record written by :meth:`write`; unknown keys raise naming the file."""
        d = read_json(path)
        known = set(cls.__dataclass_fields__)
        extra = set(d) - known
        if extra:
            raise ValueError(f"{path}: unknown run-record fields {sorted(extra)}")
        return cls(**d)

    def metrics(self, direction: str = "t2v", metric: str = "R1") -> dict[str, float]:
        """``{lang: value}`` of one metric on the reported split, for quick tables."""
        return {lang: r[direction][metric] for lang, r in self.results.items()}
