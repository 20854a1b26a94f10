"""`mvkit bench {metrics,features,gallery,text,grounding,all}`: the project's measured performance claims.

Each benchmark lives in its own module with a ``main(argv) -> int``; they are imported
lazily so one missing or broken benchmark never blocks the others.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

BENCHES: dict[str, tuple[str, str]] = {
    "metrics": ("mvkit.bench.metrics_bench", "exact ranks vs full sort; memory of text_video_ranks at 40k"),
    "features": ("mvkit.bench.features_bench", "video decoding and feature extraction throughput"),
    "gallery": ("mvkit.bench.gallery_bench", "failure-gallery click -> redrawn view, default world and 10k clips"),
    "text": ("mvkit.bench.text_bench", "trainable text sides' captions/s vs the old fine-tuning; one translate-train run"),
    "grounding": ("mvkit.bench.grounding_bench",
                  "training time per grounding model, evaluation of 10k pairs, Hungarian share of a step"),
}


def _load(name: str):
    module = BENCHES[name][0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module:
            raise SystemExit(f"mvkit bench {name}: benchmark module {module} is not available in this install") from None
        raise


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``metrics``, ``features``, ``gallery``, ``text`` or ``all`` to each benchmark's own ``main``."""
    parser = argparse.ArgumentParser(
        prog="mvkit bench",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="run the benchmarks; options after the name go to the benchmark "
        "(e.g. --quick, --out FILE; with 'all', --out FILE writes FILE's stem.<bench>.json)",
        epilog="\n".join(f"{name}: {help_}" for name, (_, help_) in BENCHES.items()),
    )
    parser.add_argument("bench", choices=[*BENCHES, "all"])
    parser.add_argument("options", nargs=argparse.REMAINDER)
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:  # argparse exits 2 on a bad name, 0 on --help
        return int(e.code or 0)
    if args.bench != "all":
        return int(_load(args.bench).main(args.options) or 0)
    status = 0
    for bench in BENCHES:
        print(f"== mvkit bench {bench}")
        opts = list(args.options)
        if "--out" in opts and opts.index("--out") + 1 < len(opts):  # one JSON per benchmark
            i = opts.index("--out") + 1
            p = Path(opts[i])
            opts[i] = str(p.with_name(f"{p.stem}.{bench}{p.suffix or '.json'}"))
        status = max(status, int(_load(bench).main(opts) or 0))
    return status
