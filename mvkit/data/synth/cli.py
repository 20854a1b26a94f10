"""``mvkit synth``: generate the embedded multilingual video world into a directory."""
from __future__ import annotations

import argparse

from mvkit.data.synth.world import DEFAULT_VIDEOS, WORLD_LANGS, generate_world


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and write a world; prints a one-line summary."""
    p = argparse.ArgumentParser(prog="mvkit synth", description=__doc__)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--videos", type=int, default=DEFAULT_VIDEOS, help=f"number of clips (default {DEFAULT_VIDEOS})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--duration", type=float, default=3.0, help="clip length in seconds")
    p.add_argument("--fps", type=int, default=8)
    p.add_argument("--size", type=int, default=64, help="frame width and height in pixels")
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--mt-noise", type=float, default=0.15, help="machine-translation noise rate per word")
    p.add_argument("--en-captions", type=int, default=3, help="English paraphrases per clip")
    p.add_argument("--languages", default=",".join(WORLD_LANGS), help="comma-separated codes (must include en)")
    p.add_argument("--human-share", default="", help="per-language share of train clips with human "
                   "captions, e.g. 'hi=0.2,de=0.5' (others keep their defaults)")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args(argv)
    share = {}
    for item in filter(None, a.human_share.split(",")):
        lang, _, val = item.partition("=")
        try:
            share[lang.strip()] = float(val)
        except ValueError:
            p.error(f"--human-share: bad entry {item!r}; expected lang=fraction")
    try:
        generate_world(a.out, a.videos, a.seed, duration=a.duration, fps=a.fps, size=a.size,
                       sample_rate=a.sample_rate, mt_noise=a.mt_noise, en_captions=a.en_captions,
                       languages=[l.strip() for l in a.languages.split(",") if l.strip()],
                       human_share=share, workers=a.workers, verbose=True)
    except ValueError as e:
        p.error(str(e))
    return 0
