"""RUDDER (Akula et al., 2021): video retrieval with text and spoken captions in Indian languages.

Two layouts are read, both per split (``train``, ``test``):
* the C2KD release (verified): ``rudder_{split}.pkl``, a pickled list of
  ``{"id", "captions": {lang: str}, "audios": {lang: array}, "2d"/"3d": features}``
  with languages among en, hi, mr, ta, te, kn, ml (not every video has every language);
* an unpickled equivalent, ``rudder_{split}.json`` with ``id`` and ``captions`` (and
  optionally ``audios`` as a list of languages that have spoken captions) — assumed
  here, since RUDDER's original annotation format is not publicly documented.
Partial-relevance labels, where available, are read from ``rudder_partial_{split}.csv``
(``video_id,caption_id,label`` with 0 positive / 1 partial / 2 negative) — an assumed
layout, documented in the manifest. A seeded ``val`` is carved from train.
"""
from __future__ import annotations

from pathlib import Path

from mvkit.data.languages import normalize_lang
from mvkit.data.pickles import load_pickle
from mvkit.data.readers.common import (
    carve_val,
    check_unique,
    drop_empty,
    fmt_ids,
    read_csv,
    read_json,
    resolve_langs,
)
from mvkit.data.records import CaptionRecord, PartialLabel, RetrievalDataset, VideoRecord

LANGS = ("en", "hi", "mr", "ta", "te", "kn", "ml")


def _load_split(root: Path, split: str, allow_pickle: bool) -> tuple[Path, list]:
    js, pk = root / f"rudder_{split}.json", root / f"rudder_{split}.pkl"
    if js.is_file():
        return js, read_json(js)
    if pk.is_file():
        return pk, load_pickle(pk, allow_pickle=allow_pickle)
    raise FileNotFoundError(f"{root}: neither rudder_{split}.json nor rudder_{split}.pkl found")


def read_rudder(
    root: str | Path,
    langs: list[str] | None = None,
    *,
    allow_pickle: bool = False,
    splits: tuple[str, ...] = ("train", "test"),
    val_size: int = 50,
    seed: int = 0,
    video_dir: str = "videos",
) -> RetrievalDataset:
    """Read RUDDER annotations (``allow_pickle=True`` is needed for the C2KD ``.pkl`` files)."""
    root = Path(root)
    langs = resolve_langs(langs, list(LANGS), str(root))
    split_of: dict[str, str] = {}
    caps, where, spoken = [], {}, []
    for split in splits:
        path, data = _load_split(root, split, allow_pickle)
        if not isinstance(data, list) or not all(isinstance(e, dict) and "id" in e and
                                                 isinstance(e.get("captions"), dict) for e in data):
            raise ValueError(f"{path}: expected a list of {{'id', 'captions': {{lang: text}}}} entries")
        check_unique(((str(e["id"]), f"entry [{i}]") for i, e in enumerate(data)), "video ids", path)
        for i, e in enumerate(data):
            vid = str(e["id"])
            if vid in split_of:
                raise ValueError(f"{path}: video {vid!r} also appears in the {split_of[vid]} file")
            split_of[vid] = split
            audio_langs = {normalize_lang(a, f"{path} entry [{i}]") for a in (e.get("audios") or [])}
            for code, text in e["captions"].items():
                lang = normalize_lang(code, f"{path} entry [{i}] (id {vid!r})")
                cid = f"{vid}#{lang}"
                if cid in where:
                    raise ValueError(f"{path}: entry [{i}] (id {vid!r}) has two caption keys for '{lang}' "
                                     f"(inconsistent language codes)")
                where[cid] = f"{path.name} entry [{i}]"
                if lang in langs:
                    caps.append(CaptionRecord(cid, vid, lang, "" if text is None else str(text)))
                    if lang in audio_langs:
                        spoken.append(cid)
    caps = drop_empty(caps, root, where)
    partial = []
    cids, vids = {c.caption_id for c in caps}, set(split_of)
    for split in splits:
        pp = root / f"rudder_partial_{split}.csv"
        if not pp.is_file():
            continue
        rows = read_csv(pp, ["video_id", "caption_id", "label"])
        bad = [f"line {ln}: {r['video_id']}/{r['caption_id']}" for ln, r in rows
               if r["video_id"] not in vids or r["caption_id"] not in cids or r["label"] not in ("0", "1", "2")]
        if bad:
            raise ValueError(f"{pp}: unknown video/caption ids or labels not in 0/1/2: {fmt_ids(bad)}")
        partial += [PartialLabel(r["video_id"], r["caption_id"], int(r["label"])) for _, r in rows]
    _, val = carve_val([v for v, s in split_of.items() if s == "train"], val_size, seed)
    split_of.update({v: "val" for v in val})
    videos = [VideoRecord(v, f"{video_dir}/{v}.mp4", s) for v, s in sorted(split_of.items())]
    return RetrievalDataset("rudder", root, videos, caps, partial_labels=partial, source=str(root),
                            meta={"val": f"{val_size} videos carved from train with seed {seed}",
                                  "spoken_captions": spoken, "caption_kind": "assumed human"})
