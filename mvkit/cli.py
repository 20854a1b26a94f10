"""``mvkit`` command line: one entry point, each sub-command lives in its own module.

Sub-commands are imported lazily so ``mvkit --help`` is fast and a broken optional
dependency of one command never breaks the others. An ``OSError`` from any of them
(permission denied, disk full, a missing file) ends the command with one line naming the
path and the cause, and exit status 1: no traceback.
"""
from __future__ import annotations

import importlib
import sys

# name -> (module with a ``main(argv: list[str] | None) -> int`` function, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("mvkit.data.synth.cli", "generate the embedded multilingual video world"),
    "extract": ("mvkit.features.extract", "decode videos once and cache encoder features"),
    "import-features": ("mvkit.features.imports", "import published features (CCR FeatureData, C2KD pickles)"),
    "export-encoder": ("mvkit.features.export", "write an open_clip model as a local-dir: folder for offline use"),
    "pretrain-tiny": ("mvkit.backbone.pretrain", "pretrain the embedded mvkit-tiny backbone"),
    "pretrain-ml": ("mvkit.backbone.pretrain_ml", "distil the multilingual text tower mvkit-tiny-ml"),
    "train": ("mvkit.train.cli", "train a retrieval head on cached features"),
    "claims": ("mvkit.experiments.claims", "reproduce the seed papers' claims on the world"),
    "bench": ("mvkit.bench", "run the benchmarks (metrics, features, gallery, text, grounding)"),
    "demo": ("mvkit.demo", "the quick-start: world -> features -> train -> evaluate"),
    "synth-grounding": ("mvkit.grounding.world", "generate the embedded grounding world (long clips, timed events)"),
    "extract-clips": ("mvkit.grounding.features", "cache clip-level features at a fixed rate (grounding)"),
    "train-grounding": ("mvkit.grounding.train", "train a grounding model (Moment-DETR-style, RGTR)"),
    "claims-grounding": ("mvkit.grounding.claims", "reproduce RGTR's claims on the grounding world"),
}


def _usage() -> str:
    lines = ["usage: mvkit <command> [options]", "", "commands:"]
    lines += [f"  {name:<17} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'mvkit <command> --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"mvkit: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(rest) or 0)
    except OSError as e:
        from mvkit.io import os_error_message

        print(f"mvkit {name}: {os_error_message(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
