"""``mvkit claims``: reproduce the direction of the seed papers' claims on the embedded world.

One command trains every variant the claims need on cached mvkit-tiny features (skipping
finished runs), ranks the same test queries with each, and writes ``claims.json`` and
``claims.md``: per comparison A, B, the difference with its 95% paired-bootstrap interval,
a paired permutation p-value and a verdict. Protocol: checkpoints are selected on the val
split by the trainer; test queries are human captions; hyper-parameters are the library's
defaults (paper defaults), nothing was tuned on test.

Verdicts: *reproduced* = difference in the claimed direction with a 95% interval that
excludes 0 and p < 0.05; *inconclusive* = claimed direction, but the interval includes 0
or p >= 0.05; *not reproduced* = difference of 0 or in the opposite direction.

    mvkit claims --out runs/claims [--smoke] [--seeds N] [--epochs E]
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mvkit.experiments.ablations import Variant, interaction_test, paired, run_variants
from mvkit.train.objectives import probe_features

NON_EN = ("de", "fr", "es", "zh", "cs", "ru", "vi", "ja", "sw", "hi", "mr", "ta", "te", "kn", "ml")
FEW = ("de", "fr", "es", "zh")
NOISE_LEVELS = (0.2, 0.6)
SCARCE_FRACTION = 0.15      # of the train videos; these runs take 4x the epochs (same order of steps)
TEXT_ENCODER = "bag"        # the text side of every translate-train run (mvkit.models.text_encoders)


def _tt(langs: Sequence[str], epochs: int) -> dict[str, Any]:
    """Translate-train: English human captions + machine translations into ``langs``, with the
    trainable bag-of-subwords text student (a frozen English-only tower cannot learn them).

    An epoch holds ~6x the captions of an English-only epoch (3 English + 15 translations
    per video), so these runs take a third of the epochs (about the same number of steps
    per video as the English runs see, at a third of the cost).
    """
    return {"train_select": ["en:human"] + [f"{lang}:machine-translated" for lang in langs],
            "langs": None, "kinds": None, "eval_langs": ["en", *langs], "epochs": ml_epochs(epochs),
            "text_encoder": TEXT_ENCODER}


def ml_epochs(epochs: int) -> int:
    return max(1, -(-epochs // 3))


EN = {"langs": ["en"], "kinds": ["human"]}


@dataclass
class Comparison:
    """One row of the claims table: A should beat B (or, for ``interaction``, lose less)."""

    claim: int
    title: str
    a: str | tuple[str, str]
    b: str | tuple[str, str]
    queries: str                                   # "en", "non-en", "few", "en-sound"
    metric: str = "R1"
    note: str = ""
    interaction: bool = False


def variants(probes_fn: Callable[[], Any], teacher_fn: Callable[[dict], Any], epochs: int,
             judge: Any = "store") -> list[Variant]:
    """Every training run the claims need (order matters: the C2KD teacher comes first).

    ``judge``: DCOT's cross-lingual view (the multilingual encoder in ``mvkit claims``)."""
    from mvkit.train.objectives import C2KD, DCOTObjective, NRCCRObjective, PartialOrderObjective

    vs = [
        Variant("en_vse", {**EN, "loss": "vse"}, label="mean head, summed hinge (VSE)"),
        Variant("en_vsepp", {**EN, "loss": "vse++"}, label="mean head, hardest-negative hinge (VSE++)"),
        Variant("en_wrank", {**EN, "loss": "weighted_rank"}, label="mean head, weighted-rank hinge"),
        Variant("en_object", {**EN, "loss": "infonce"}, label="object space (appearance, mean), InfoNCE"),
        Variant("en_activity", {**EN, "loss": "infonce", "head": "activity"}, label="activity space (motion+audio)"),
        Variant("en_fusion", {**EN, "loss": "infonce", "head": "fusion"}, label="object + activity (with audio)"),
        Variant("en_fusion_noaudio", {**EN, "loss": "infonce", "head": "fusion_noaudio"},
                label="object + activity (no audio)"),
        Variant("scarce_triplet", {**EN, "loss": "vse++", "epochs": 4 * epochs}, train_fraction=SCARCE_FRACTION,
                label=f"{SCARCE_FRACTION:.0%} of train videos, triplet (VSE++)"),
        Variant("scarce_partial", {**EN, "loss": "vse++", "epochs": 4 * epochs}, train_fraction=SCARCE_FRACTION,
                objective=lambda done: PartialOrderObjective(probes_fn()),
                label=f"{SCARCE_FRACTION:.0%} of train videos, triplet + partial order"),
        Variant("tt_mean", {**_tt(NON_EN, epochs), "loss": "infonce"}, label="translate-train, 15 languages, mean head"),
        Variant("tt_c2kd", {**_tt(NON_EN, epochs), "loss": "infonce"},
                objective=lambda done: C2KD(teachers=[teacher_fn(done)]),
                label="translate-train + C2KD (English teacher = en_object)"),
        Variant("tt_dcm", {**_tt(NON_EN, epochs), "loss": "infonce", "head": "dcm"}, label="translate-train, DCM head"),
        Variant("tt_few", {**_tt(FEW, epochs), "loss": "infonce"}, label="translate-train, 4 languages"),
    ]
    dcot_epochs = ml_epochs(epochs)
    for n in NOISE_LEVELS:
        key, tag = f"noise{n}", f"n{round(n * 100):02d}"
        vs += [
            Variant(f"{tag}_infonce", {**_tt(NON_EN, epochs), "loss": "infonce"}, data=key,
                    label=f"MT noise {n}: InfoNCE"),
            Variant(f"{tag}_nrccr", {**_tt(NON_EN, epochs), "loss": "infonce"}, data=key,
                    objective=lambda done: NRCCRObjective(), label=f"MT noise {n}: NRCCR"),
            Variant(f"{tag}_dcot", {**_tt(NON_EN, epochs), "loss": "infonce"}, data=key,
                    objective=lambda done: DCOTObjective(dcot_epochs, judge=judge), label=f"MT noise {n}: DCOT"),
        ]
    return vs


def comparisons() -> list[Comparison]:
    lo, hi = (f"n{round(n * 100):02d}" for n in NOISE_LEVELS)
    return [
        Comparison(1, "VSE++ beats the summed hinge", "en_vsepp", "en_vse", "en"),
        Comparison(1, "weighted-rank hinge beats the summed hinge", "en_wrank", "en_vse", "en"),
        Comparison(2, "fusion beats the object space alone", "en_fusion", "en_object", "en"),
        Comparison(2, "fusion beats the activity space alone", "en_fusion", "en_activity", "en"),
        Comparison(2, "audio helps where sound disambiguates", "en_fusion", "en_fusion_noaudio", "en-sound",
                   note="queries that mention the material (heard, not seen)"),
        Comparison(2, "audio on all queries (context)", "en_fusion", "en_fusion_noaudio", "en"),
        Comparison(3, "partial order beats triplet with scarce data", "scarce_partial", "scarce_triplet", "en"),
        Comparison(4, "C2KD raises non-English recall", "tt_c2kd", "tt_mean", "non-en"),
        Comparison(5, "translate-train beats zero-shot", "tt_mean", "en_object", "non-en"),
        Comparison(5, "DCM (translate-train) beats zero-shot", "tt_dcm", "en_object", "non-en"),
        Comparison(5, "DCM beats mean pooling (translate-train)", "tt_dcm", "tt_mean", "non-en"),
        Comparison(5, "more languages help (15 vs 4)", "tt_mean", "tt_few", "few",
                   note="on the 4 languages both saw"),
        Comparison(6, f"NRCCR loses less than InfoNCE, noise {NOISE_LEVELS[0]} -> {NOISE_LEVELS[1]}",
                   (f"{lo}_nrccr", f"{hi}_nrccr"), (f"{lo}_infonce", f"{hi}_infonce"), "non-en", interaction=True,
                   note="A, B = change in R1 from low to high noise"),
        Comparison(6, f"DCOT loses less than InfoNCE, noise {NOISE_LEVELS[0]} -> {NOISE_LEVELS[1]}",
                   (f"{lo}_dcot", f"{hi}_dcot"), (f"{lo}_infonce", f"{hi}_infonce"), "non-en", interaction=True,
                   note="A, B = change in R1 from low to high noise"),
        Comparison(6, f"NRCCR beats InfoNCE at noise {NOISE_LEVELS[1]}", f"{hi}_nrccr", f"{hi}_infonce", "non-en"),
        Comparison(6, f"DCOT beats InfoNCE at noise {NOISE_LEVELS[1]}", f"{hi}_dcot", f"{hi}_infonce", "non-en"),
    ]


def verdict(diff: float, low: float, high: float, p: float = 0.0, alpha: float = 0.05) -> str:
    """reproduced: claimed direction, CI excludes 0 and p < alpha; inconclusive: direction
    right but CI includes 0 or p >= alpha; not reproduced: no difference or the opposite."""
    if diff > 0 and low > 0 and p < alpha:
        return "reproduced"
    if diff > 0:
        return "inconclusive"
    return "not reproduced"


def sound_queries(dataset: Any) -> set[str]:
    """Test captions that mention what is only heard: the main object's material or the sound."""
    out = set()
    for c in dataset.captions:
        m = c.attributes or {}
        if "sound" in m or "material" in (m.get("object") or {}):
            out.add(c.caption_id)
    return out


def _query_args(queries: str, sound: set[str]) -> dict[str, Any]:
    return {"en": {"langs": ["en"]}, "non-en": {"langs": list(NON_EN)}, "few": {"langs": list(FEW)},
            "en-sound": {"langs": ["en"], "keep": sound}}[queries]


def evaluate_claims(out: str | Path, comps: Sequence[Comparison], sound: set[str], seeds: Sequence[int],
                    n_boot: int = 1000) -> list[dict[str, Any]]:
    """Rows of the claims table from the saved ranks under ``out/seed<k>/<variant>/``."""
    out = Path(out)
    rows = []
    for c in comps:
        q = _query_args(c.queries, sound)
        dirs = lambda name: [out / f"seed{s}" / name for s in seeds]
        if c.interaction:
            (al, ah), (bl, bh) = c.a, c.b
            res = interaction_test(dirs(al), dirs(ah), dirs(bl), dirs(bh), metric=c.metric, n_boot=n_boot, **q)
            comparison = f"({ah} - {al}) vs ({bh} - {bl})"
        else:
            res = paired(dirs(c.a), dirs(c.b), metric=c.metric, n_boot=n_boot, **q)
            comparison = f"{c.a} vs {c.b}"
        rows.append({"claim": c.claim, "title": c.title, "comparison": comparison, "queries": c.queries,
                     **res, "verdict": verdict(res["diff"], res["low"], res["high"], res["p"]), "note": c.note})
    return rows


def table_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The claims table in Markdown (one line per comparison)."""
    lines = ["| # | claim | comparison (A vs B) | queries (n) | metric | A | B | diff [95% CI] | p | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['claim']} | {r['title']} | {r['comparison']} | {r['queries']} ({r['n_queries']}) | "
                     f"{r['metric']} | {r['A']:.1f} | {r['B']:.1f} | {r['diff']:+.1f} [{r['low']:+.1f}, {r['high']:+.1f}] | "
                     f"{r['p']:.3f} | {r['verdict']} |")
    return "\n".join(lines) + "\n"


def write_outputs(out: str | Path, rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> tuple[Path, Path]:
    """``claims.json`` (rows + protocol) and ``claims.md`` (the table), both atomically."""
    from mvkit.io import atomic_write_json, atomic_write_text

    out = Path(out)
    atomic_write_json(out / "claims.json", {"protocol": meta, "rows": list(rows)})
    md = ["# Seed claims on the embedded world", "",
          f"Command: `{meta['command']}`", "",
          (f"World: {meta['world']} ({meta['n_videos']} videos); features: {meta['encoder']} "
           f"(weights {str(meta.get('weights_sha256'))[:12]}); epochs {meta['epochs']}; seeds {meta['seeds']}; "
           "selection on val; test queries are human captions; t2v R@1 (%)."), "",
          ("Verdict: reproduced = claimed direction, the 95% paired-bootstrap CI excludes 0 and p < 0.05; "
           "inconclusive = direction right, CI includes 0 or p >= 0.05; not reproduced = no difference or the "
           "opposite direction. p: two-sided paired permutation test over queries."), "",
          table_markdown(rows)]
    atomic_write_text(out / "claims.md", "\n".join(md))
    return out / "claims.json", out / "claims.md"


# ------------------------------------------------------------------------------ data set-up
def _check_store_weights(store: Any, encoder: Any, path: Path) -> None:
    have = (store.provenance or {}).get("weights_sha256")
    if have and encoder is not None and have != encoder.weights_sha256:
        raise ValueError(f"{path}: features were extracted with weights {have[:12]}, the encoder now has "
                         f"{encoder.weights_sha256[:12]}; delete this store (or the world's features/) and rerun")


def _open_world(n_videos: int | None, encoder_name: str, pretrained: str | None, encoder: Any, log, **world_kw):
    from mvkit.data import load
    from mvkit.data.synth import ensure_world
    from mvkit.features.extract import ensure_store
    from mvkit.features.store import open_store

    t0 = time.perf_counter()
    w = ensure_world(n_videos, **world_kw)
    s = ensure_store(w, encoder_name, pretrained, progress=False)
    store = open_store(s)
    _check_store_weights(store, encoder, s)
    log(f"[claims] world {w.name} + features ready in {time.perf_counter() - t0:.1f}s")
    return w, load(w), store


def caption_variant(base_world: Path, base_store: Any, encoder: Any, log: Any, **caption_kw) -> Any:
    """A world with the base world's clips and other captions (e.g. ``mt_noise=0.6``), and its store.

    The clips are hard links of the base world's (``ensure_world(videos_from=...)``), so
    the base store's video features are reused as they are (linked) and only the captions
    are encoded: ``<world>/features/<store>/text``. Stale text features (other weights)
    are re-extracted.
    """
    import os
    import shutil

    from mvkit.data import load
    from mvkit.data.synth import ensure_world
    from mvkit.features.store import open_store
    from mvkit.io import atomic_write_json

    t0 = time.perf_counter()
    from mvkit.io import read_json

    n = int(read_json(base_world / "world.json")["n_videos"])
    w = ensure_world(n, videos_from=str(base_world), **caption_kw)
    _check_same_clips(base_world, w)
    ds = load(w)
    base = Path(base_store.path)
    path = w / "features" / base.name
    path.mkdir(parents=True, exist_ok=True)
    for f in ("provenance.json", "plan.json", "index.json", "shards"):
        if (base / f).exists():
            link = path / f
            if link.is_symlink() or link.exists():
                if link.is_symlink() and os.readlink(link) == str(base / f):
                    continue
                shutil.rmtree(link) if link.is_dir() and not link.is_symlink() else link.unlink()
            link.symlink_to(base / f)
    store = open_store(path)
    if any(store.text_provenance(l).get("weights_sha256") != encoder.weights_sha256 for l in store.text_langs):
        shutil.rmtree(path / "text")              # stale: extracted with other weights
    if not (path / "text" / ".complete").exists():
        langs = _reuse_text_features(ds, load(base_world), base_store, encoder, path)
        atomic_write_json(path / "text" / ".complete", {"langs": langs, "videos_from": str(base)})
    store = open_store(path)
    log(f"[claims] world {w.name} (clips of {base_world.name}) + text features ready in "
        f"{time.perf_counter() - t0:.1f}s")
    return w, ds, store


def _check_same_clips(a: Path, b: Path) -> None:
    """The video features of world ``a`` may serve world ``b`` only if its clips are the same files' bytes."""
    import filecmp

    clips = sorted(p.name for p in (a / "videos").glob("*.mp4"))
    other = sorted(p.name for p in (b / "videos").glob("*.mp4"))
    if clips != other or not all(filecmp.cmp(a / "videos" / c, b / "videos" / c, shallow=False) for c in clips):
        raise ValueError(f"{b}: its clips differ from {a}'s; its video features cannot be reused "
                         f"(delete {b} so it is regenerated from {a}'s clips)")


def _reuse_text_features(ds: Any, base_ds: Any, base_store: Any, encoder: Any, path: Path) -> list[str]:
    """Write ``ds``'s text features under ``path``: a caption whose text is the base world's
    reuses the base store's feature (same encoder, checked), the others are encoded."""
    import numpy as np
    import torch

    from mvkit.features.extract import text_provenance
    from mvkit.features.store import write_text_features

    base_text = {c.caption_id: c.text for c in base_ds.captions}
    by_lang: dict[str, list] = {}
    for c in ds.captions:
        by_lang.setdefault(c.lang, []).append(c)
    prov = text_provenance(encoder)
    for lang, caps in sorted(by_lang.items()):
        if base_store.text_provenance(lang).get("weights_sha256") != encoder.weights_sha256:
            raise ValueError(f"{base_store.path}: text features of {lang!r} come from other weights")
        ids, feats = base_store.text_features(lang)
        row = {cid: i for i, cid in enumerate(ids)}
        out = np.zeros((len(caps), feats.shape[1]), np.float32)
        new = [i for i, c in enumerate(caps) if base_text.get(c.caption_id) != c.text or c.caption_id not in row]
        fresh = set(new)
        for i, c in enumerate(caps):
            if i not in fresh:
                out[i] = feats[row[c.caption_id]]
        with torch.inference_mode():
            for s in range(0, len(new), 256):
                part = new[s:s + 256]
                out[part] = encoder.encode_text([caps[i].text for i in part], lang).float().cpu().numpy()
        write_text_features(path, lang, [c.caption_id for c in caps], out, prov)
    return sorted(by_lang)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mvkit claims", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/claims", help="output directory (resumable)")
    p.add_argument("--smoke", action="store_true", help="smoke world and 2 epochs (structure check, ~1 min)")
    p.add_argument("--seeds", type=int, default=1, help="training seeds per variant (queries pooled over seeds)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per run (default 12; smoke 2)")
    p.add_argument("--encoder", default="mvkit-tiny", help="feature encoder (default: the shipped mvkit-tiny)")
    p.add_argument("--pretrained", default=None, help="encoder weights (default: shipped)")
    p.add_argument("--only", default=None, help="comma-separated claim numbers to run (default: all)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap / permutation resamples")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    p.add_argument("--lr", type=float, default=5e-4, help="AdamW learning rate of every run")
    a = p.parse_args(argv)

    import torch

    from mvkit.data.synth import DEFAULT_VIDEOS, SMOKE_VIDEOS
    from mvkit.features.encoders import create_encoder
    from mvkit.train import TrainConfig, load_model

    t0 = time.perf_counter()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    n_videos = SMOKE_VIDEOS if a.smoke else DEFAULT_VIDEOS
    epochs = a.epochs or (2 if a.smoke else 12)
    only = {int(x) for x in a.only.split(",")} if a.only else None
    log = lambda m: print(m, flush=True)
    torch.set_num_threads(a.threads)

    encoder = create_encoder(a.encoder, a.pretrained, device="cpu")
    world, dataset, store = _open_world(n_videos, a.encoder, a.pretrained, encoder, log)
    data = {"default": (dataset, store, encoder)}
    comps = [c for c in comparisons() if only is None or c.claim in only]
    if only is None or 6 in only:
        for n in NOISE_LEVELS:
            _, ds, st = caption_variant(world, store, encoder, log, mt_noise=n)
            data[f"noise{n}"] = ds, st, encoder
    needed: set[str] = set()
    for c in comps:
        for x in (c.a, c.b):
            needed.update([x] if isinstance(x, str) else x)
    if "tt_c2kd" in needed:
        needed.add("en_object")
    probes = lambda: probe_features(world, encoder, out / "cache")
    teacher = lambda done: load_model(Path(done["en_object"].paths["best"]))
    judge = encoder.with_text_model("mvkit-tiny-ml") if a.encoder == "mvkit-tiny" else "store"
    todo = [v for v in variants(probes, teacher, epochs, judge) if v.name in needed]
    base = TrainConfig(epochs=epochs, batch_size=64, lr=a.lr, threads=a.threads, bootstrap=200)
    seeds = list(range(a.seeds))
    for s in seeds:
        run_variants(todo, base, out / f"seed{s}", data=data, seed_offset=s, log=log)
    rows = evaluate_claims(out, comps, sound_queries(dataset), seeds, n_boot=a.n_boot)
    meta = {"command": "mvkit claims " + " ".join(argv if argv is not None else []), "world": world.name,
            "n_videos": n_videos, "encoder": a.encoder, "pretrained": a.pretrained,
            "weights_sha256": encoder.weights_sha256, "epochs": epochs, "lr": a.lr, "batch_size": 64, "seeds": a.seeds,
            "selection_split": "val", "eval_split": "test", "query_kind": "human", "direction": "t2v",
            "ci": "95% paired bootstrap over queries", "p_value": "two-sided paired permutation",
            "variants": {v.name: v.label for v in todo}, "seconds": round(time.perf_counter() - t0, 1)}
    j, m = write_outputs(out, rows, meta)
    print(table_markdown(rows))
    print(f"wrote {j} and {m} in {time.perf_counter() - t0:.0f}s")
    return 0
