"""Multi-YouCook2 (Rouditchenko et al., C2KD, ICASSP 2023) as the C2KD release ships it.

``youcook_{train,val}_audio_multilingual.pkl`` are pickled lists of clip dicts with
``id``, ``caption`` (English) and ``caption_<lang>`` for de, fr, cz (Czech — keyed ``cz``),
zh, ru, vi, es, en, ja, plus feature arrays that mvkit ignores. Translations were made
by machine from English, so non-English captions are ``machine-translated`` with
``source_id`` the English caption. YouCook2's validation clips are the test set (its test
annotations are not public); a seeded ``val`` is carved from train. The test file alone
loads for evaluation; ``.pkl`` and ``.pickle`` need ``allow_pickle=True`` alike.
"""
from __future__ import annotations

from pathlib import Path

from mvkit.data.languages import normalize_lang
from mvkit.data.readers.common import (
    drop_empty,
    iter_split_clips,
    require_file,
    resolve_langs,
    val_policy,
    warn_scripts,
)
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord

FILES = {"train": "youcook_train_audio_multilingual.pkl", "test": "youcook_val_audio_multilingual.pkl"}


def _captions(path: Path, i: int, e: dict) -> dict[str, str]:
    """Canonical lang -> caption of one clip; ``cz`` and ``cs`` both present is inconsistent."""
    out: dict[str, str] = {}
    for key, val in e.items():
        if not (isinstance(key, str) and key.startswith("caption_")):
            continue
        lang = normalize_lang(key[len("caption_"):], f"{path} entry [{i}]")
        if lang in out:
            raise ValueError(f"{path}: entry [{i}] (id {e['id']!r}) has two keys for '{lang}' "
                             f"(inconsistent language codes)")
        out[lang] = "" if val is None else str(val)
    if "en" not in out and isinstance(e.get("caption"), str):
        out["en"] = e["caption"]
    return out


def read_multi_youcook2(
    root: str | Path,
    langs: list[str] | None = None,
    *,
    allow_pickle: bool = False,
    files: dict[str, str] | None = None,
    val_size: int = 500,
    seed: int = 0,
    video_dir: str = "videos",
) -> RetrievalDataset:
    """Read the C2KD Multi-YouCook2 pickles (needs ``allow_pickle=True``: pickles can run code)."""
    root = Path(root)
    files = files or FILES
    split_of: dict[str, str] = {}
    caps, where = [], {}
    available: set[str] | None = None
    paths = {split: require_file(root, rel) for split, rel in files.items()
             if split == "test" or (root / rel).is_file() or "test" not in files}
    for _, path, i, e in iter_split_clips(paths, allow_pickle, split_of):
        vid = str(e["id"])
        by_lang = _captions(path, i, e)
        if available is None:
            available = set(by_lang)
        elif set(by_lang) != available:
            raise ValueError(f"{path}: entry [{i}] (id {vid!r}) has languages {sorted(by_lang)}, "
                             f"others have {sorted(available)} (inconsistent language codes)")
        for lang, text in by_lang.items():
            cid = f"{vid}#{lang}"
            where[cid] = f"{path.name} entry [{i}]"
            mt = lang != "en"
            caps.append(CaptionRecord(cid, vid, lang, text, kind="machine-translated" if mt else "human",
                                      source_id=f"{vid}#en" if mt else None))
    keep = set(resolve_langs(langs, sorted(available or []), str(root)))
    caps = drop_empty([c for c in caps if c.lang in keep], root, where)
    warn_scripts(caps, root)
    val = val_policy(split_of, val_size, seed, paths.get("train", root))
    videos = [VideoRecord(v, f"{video_dir}/{v}.mp4", s) for v, s in sorted(split_of.items())]
    return RetrievalDataset("multi-youcook2", root, videos, caps, source=str(root),
                            meta={"val": val, "files": [p.name for p in paths.values()],
                                  "test": "YouCook2 validation clips (test annotations are not public)"})
