"""A first look at a dataset as small tables: languages, caption kinds, translations, probes, manifests.

Notebook 01 shows these; each is a pure function of a
:class:`~mvkit.data.records.RetrievalDataset` (or of the shipped manifests), so it works the
same on the embedded world and on a real dataset loaded with :func:`mvkit.data.load`.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mvkit.data.records import PARTIAL_LABELS, RetrievalDataset

_KINDS = ("human", "machine-translated", "back-translated")


def language_table(dataset: RetrievalDataset) -> pd.DataFrame:
    """The dataset's languages: code, name, script and NLLB code (English first)."""
    from mvkit.data.languages import LANGUAGES

    langs = sorted(dataset.languages, key=lambda l: (l != "en", l))
    return pd.DataFrame([{"code": l, "name": LANGUAGES[l].name, "script": LANGUAGES[l].script,
                          "nllb": LANGUAGES[l].nllb} for l in langs]).set_index("code")


def caption_counts(dataset: RetrievalDataset, split: str | None = None) -> pd.DataFrame:
    """Captions per language (rows, English first) and kind (columns), in one split or all."""
    vids = None if split is None else {v.video_id for v in dataset.videos if v.split == split}
    pairs = [(c.lang, c.kind) for c in dataset.captions if vids is None or c.video_id in vids]
    df = pd.DataFrame(pairs, columns=["language", "kind"])
    table = pd.crosstab(df["language"], df["kind"])
    order = [k for k in _KINDS if k in table.columns]
    langs = sorted(table.index, key=lambda l: (l != "en", l))
    return table.loc[langs, order].rename_axis(columns=None)


def translation_chain(dataset: RetrievalDataset, caption_id: str) -> pd.DataFrame:
    """A caption and every caption made from it (translations, back-translations), linked by
    ``source_id``; the noise column lists what the simulated machine translation damaged."""
    children: dict[str, list] = {}
    by_id = {}
    for c in dataset.captions:
        by_id[c.caption_id] = c
        if c.source_id is not None:
            children.setdefault(c.source_id, []).append(c)
    if caption_id not in by_id:
        raise KeyError(f"{dataset.name}: no caption {caption_id!r}")
    rows, todo = [], [by_id[caption_id]]
    while todo:
        c = todo.pop(0)
        noise = [f"{n.get('op')}:{n.get('attr') or n.get('tag')}" for n in (c.attributes or {}).get("noise", [])
                 if n.get("destroyed")]
        rows.append({"caption_id": c.caption_id, "lang": c.lang, "kind": c.kind, "source_id": c.source_id,
                     "text": c.text, "damaged": ", ".join(noise) or "-"})
        todo += children.get(c.caption_id, [])
    return pd.DataFrame(rows).set_index("caption_id")


def translated_example(dataset: RetrievalDataset, split: str = "train") -> str | None:
    """Id of the first caption in ``split`` that has machine translations (None if none)."""
    vids = {v.video_id for v in dataset.videos if v.split == split}
    for c in dataset.captions:
        if c.kind == "machine-translated" and c.video_id in vids and c.source_id is not None:
            return c.source_id
    return None


def partial_probes(dataset: RetrievalDataset, video_id: str | None = None) -> pd.DataFrame:
    """RUDDER-style probes of one clip with their labels (positive / partial / negative).

    Needs a dataset loaded with its partial labels (``mvkit.data.load(world, partial=True)``);
    an empty table when it has none.
    """
    cols = ["caption_id", "lang", "text", "label"]
    if not dataset.partial_labels:
        return pd.DataFrame(columns=cols).set_index("caption_id")
    video_id = video_id or dataset.partial_labels[0].video_id
    text = {c.caption_id: c for c in dataset.captions}
    rows = [{"caption_id": p.caption_id, "lang": text[p.caption_id].lang, "text": text[p.caption_id].text,
             "label": f"{p.label} ({PARTIAL_LABELS[p.label]})"}
            for p in dataset.partial_labels if p.video_id == video_id]
    return pd.DataFrame(rows, columns=cols).set_index("caption_id")


def manifest_table() -> pd.DataFrame:
    """The shipped real-dataset manifests: languages, default variant and its split sizes, licence."""
    from mvkit.data.manifests import list_manifests, load_manifest

    rows = []
    for name in list_manifests():
        m = load_manifest(name)
        v = m["variants"][m["default_variant"]]
        rows.append({"manifest": name, "title": m["title"], "languages": " ".join(m["languages"]),
                     "reader": m["reader"], "default variant": m["default_variant"],
                     "splits": ", ".join(f"{s} {n}" for s, n in v["splits"].items() if n is not None),
                     "variants": ", ".join(m["variants"]), "licence": str(m["licence"])[:40]})
    return pd.DataFrame(rows).set_index("manifest")


def skipped_demo(dataset: RetrievalDataset, encoder: Any, out_dir: str | os.PathLike,
                 n_videos: int = 4) -> Any:
    """Extract ``n_videos`` clips of which one is truncated and one missing: the store skips both.

    The clips are copied to ``out_dir/videos`` (the dataset is not touched), the last copy is
    cut in half and the one before it deleted; returns the opened store, whose ``skipped``
    maps each bad video to the reason (also in ``report.json``).
    """
    from dataclasses import replace

    from mvkit.features.extract import extract_features

    if n_videos < 3:
        raise ValueError("skipped_demo needs at least 3 videos (one good, one truncated, one missing)")
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    (out / "videos").mkdir(parents=True)
    videos = [v for v in dataset.videos if v.path][:n_videos]
    copies = []
    for v in videos:
        dst = out / "videos" / Path(v.path).name
        shutil.copyfile(dataset.video_path(v), dst)
        copies.append(replace(v, path=str(dst)))
    data = copies[-1].path
    size = os.path.getsize(data)
    with open(data, "r+b") as fh:   # lose the end of the file, as an interrupted download does
        fh.truncate(size // 2)
    os.remove(copies[-2].path)        # a file the annotations list but the download lacks
    ids = {v.video_id for v in copies}
    small = replace(dataset, videos=copies, captions=[c for c in dataset.captions if c.video_id in ids],
                    partial_labels=[])
    return extract_features(small, encoder, out / "store", num_workers=0, progress=False)


def subset_languages(langs: Sequence[str], available: Sequence[str]) -> list[str]:
    """``langs`` that the dataset has, in order (a parameter list may name missing ones)."""
    have = set(available)
    return [l for l in langs if l in have]
