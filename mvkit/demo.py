"""``mvkit demo``: the quick-start of notebook 00 from the command line (``make demo``).

Generates (or reuses) the embedded world, extracts (or reuses) its mvkit-tiny features,
trains a fused object + activity model (appearance; motion + audio) with InfoNCE on
English captions and their machine translations into every language, with the fast
bag-of-subwords text student learning those languages, evaluates text-to-video and video-to-text retrieval
per language on the test split (bootstrap 95% intervals, checkpoint chosen on val), and
writes the run record, the per-language table, one failure and one embedding map under
``--out``. ``MVKIT_SMOKE=1`` runs the small world and fewer epochs.
"""
from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    """Run the quick-start; print the per-language table and where the files went."""
    ap = argparse.ArgumentParser(prog="mvkit demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    ap.add_argument("--dataset", default="embedded", help="'embedded' or a manifest name such as msrvtt")
    ap.add_argument("--data-root", default=None, help="where a real dataset was downloaded")
    ap.add_argument("--encoder", default="mvkit-tiny", help="open_clip model name or mvkit-tiny")
    ap.add_argument("--pretrained", default=None, help="open_clip pretrained tag, e.g. openai")
    ap.add_argument("--langs", default=None, help="comma-separated languages (default: all)")
    ap.add_argument("--epochs", type=int, default=None, help="default 10 (3 under MVKIT_SMOKE=1)")
    ap.add_argument("--head", default="fusion", help="model config (fusion, mean, seqtransf, activity, ...)")
    ap.add_argument("--loss", default="infonce", help="loss name (infonce, vse++, weighted_rank, ...)")
    ap.add_argument("--text-encoder", default="bag", help="text side: bag (default), tower or frozen")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--map", dest="map_method", choices=["umap", "pca"], default=None,
                    help="embedding-map projection (default umap; pca under MVKIT_SMOKE=1)")
    args = ap.parse_args(argv)

    from mvkit.notebook import format_language_table
    from mvkit.quickstart import run_quickstart

    t0 = time.perf_counter()
    data = {"dataset": args.dataset, "data_root": args.data_root, "encoder": args.encoder,
            "pretrained": args.pretrained, "seed": args.seed}
    made = run_quickstart(args.out, data=data, langs=args.langs.split(",") if args.langs else None,
                          epochs=args.epochs, head=args.head, loss=args.loss, text_encoder=args.text_encoder,
                          map_method=args.map_method)
    record = made["record"]
    sel = record.selection
    print(f"\n{args.head} + {args.loss}, text side {args.text_encoder}: checkpoint of epoch {sel['selected_epoch']} chosen on val "
          f"({sel['criterion']}); numbers below are on the test split, 95% bootstrap CIs over queries")
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 100):
        print(format_language_table(made["table"], ("R1", "R5", "MdR"), columns="direction").to_string())
    print(f"\nchance R@1 (t2v): {made['table']['chance_R1'].iloc[0]:.2f}%")
    for key in ("run", "results", "failure", "embedding"):
        if key in made:
            print(f"{key:>9}: {made[key]}")
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0
