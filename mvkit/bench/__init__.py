"""`mvkit bench {metrics,features,all}`: the project's measured performance claims.

Each benchmark lives in its own module with a ``main(argv) -> int``; they are imported
lazily so one missing or broken benchmark never blocks the others.
"""
from __future__ import annotations

import importlib
import sys

BENCHES: dict[str, tuple[str, str]] = {
    "metrics": ("mvkit.bench.metrics_bench", "exact ranks vs full sort; memory of text_video_ranks at 40k"),
    "features": ("mvkit.bench.features_bench", "video decoding and feature extraction throughput"),
}


def _load(name: str):
    module = BENCHES[name][0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module:
            raise SystemExit(f"mvkit bench {name}: benchmark module {module} is not available in this install") from None
        raise


def _usage() -> str:
    lines = ["usage: mvkit bench {metrics,features,all} [options]", ""]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in BENCHES.items()]
    lines += ["  all        run every benchmark (options are passed to each)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``argv[0]`` (metrics, features, all) to the benchmark's own ``main``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name == "all":
        status = 0
        for bench in BENCHES:
            print(f"== mvkit bench {bench}")
            out = list(rest)
            if "--out" in out:  # one JSON per benchmark: <out stem>.<bench>.json
                i = out.index("--out")
                if i + 1 < len(out):
                    from pathlib import Path

                    p = Path(out[i + 1])
                    out[i + 1] = str(p.with_name(f"{p.stem}.{bench}{p.suffix or '.json'}"))
            status = max(status, int(_load(bench).main(out) or 0))
        return status
    if name not in BENCHES:
        print(f"mvkit bench: unknown benchmark {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    return int(_load(name).main(rest) or 0)
