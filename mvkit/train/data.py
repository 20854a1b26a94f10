"""In-memory training and evaluation data: cached features of one split, its captions, batching.

Features are read once from the feature store (``stacked``/``text_features``) into tensors,
so an epoch over the embedded world is pure indexing (no decoding, no disk) and takes seconds
on a CPU. Videos the store lacks (corrupt files) are left out of the training and validation
splits with a warning that counts them; on an evaluation split (test) they are an error,
since a smaller gallery changes every metric, unless ``allow_missing_videos`` says to
evaluate on what is there (the caller records that in the protocol).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mvkit.data.records import CaptionRecord, RetrievalDataset
from mvkit.models.fusion import VideoBatch
from mvkit.models.text import TextBatch

Tokenize = Callable[[list[str], str], Tensor]


def _store_name(store: Any) -> str:
    return str(getattr(store, "path", None) or getattr(store, "root", None) or type(store).__name__)


def load_stream(store: Any, video_ids: Sequence[str], stream: str) -> tuple[Tensor, Tensor]:
    """``[N, T, D]`` float32 and ``[N, T]`` bool of one stream from ``store.stacked``.

    A video lacking the stream (a silent clip's audio) has an all-False mask row: no sound,
    never zeros that look like sound.
    """
    if stream not in store.dims:
        raise ValueError(f"{_store_name(store)}: no stream {stream!r}; streams are {list(store.dims)}")
    arr, mask = store.stacked(list(video_ids), stream)
    return torch.as_tensor(np.asarray(arr, dtype=np.float32)), torch.as_tensor(np.asarray(mask, dtype=bool))


@dataclass
class SplitData:
    """One split's videos (features in memory) and selected captions, ready for batching.

    ``caption_video[i]`` is the row in the video tables of caption i's video.
    ``text`` holds cached text features (frozen mode); ``ml_text`` the multilingual
    tower's (dual path; English rows unused); ``texts``/``langs`` feed tokenisation when
    the text tower is fine-tuned.
    """

    split: str
    video_ids: list[str]
    feats: dict[str, Tensor]
    masks: dict[str, Tensor]
    captions: list[CaptionRecord]
    caption_video: Tensor
    is_en: Tensor
    text: Tensor | None
    ml_text: Tensor | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def langs(self) -> list[str]:
        return [c.lang for c in self.captions]

    def video_batch(self, rows: Tensor) -> VideoBatch:
        """Videos at ``rows`` (indices into ``video_ids``)."""
        return VideoBatch({k: v[rows] for k, v in self.feats.items()}, {k: m[rows] for k, m in self.masks.items()})

    def text_batch(self, rows: Tensor, tokenize: Tokenize | None = None) -> TextBatch:
        """Captions at ``rows``; with ``tokenize`` (fine-tuning) token ids per language group."""
        groups: list[tuple[Tensor, Tensor]] = []
        if tokenize is not None:
            by_lang: dict[str, list[int]] = {}
            for j, r in enumerate(rows.tolist()):
                by_lang.setdefault(self.captions[r].lang, []).append(j)
            for lang, js in sorted(by_lang.items()):
                texts = [self.captions[int(rows[j])].text for j in js]
                groups.append((torch.tensor(js), tokenize(texts, lang)))
        return TextBatch(None if self.text is None else self.text[rows], self.is_en[rows],
                         None if self.ml_text is None else self.ml_text[rows], groups)

    def subset_captions(self, keep: Iterable[int]) -> SplitData:
        """The same videos with only the captions at ``keep`` (e.g. one language)."""
        keep = torch.as_tensor(list(keep), dtype=torch.long)
        return SplitData(self.split, self.video_ids, self.feats, self.masks,
                         [self.captions[i] for i in keep.tolist()], self.caption_video[keep],
                         self.is_en[keep], None if self.text is None else self.text[keep],
                         None if self.ml_text is None else self.ml_text[keep], self.skipped)


def _text_table(store: Any, captions: list[CaptionRecord], langs: Iterable[str]) -> Tensor:
    """Cached text features of ``captions`` (rows in caption order) from ``store.text_features``."""
    rows: dict[str, np.ndarray] = {}
    dim = None
    for lang in sorted(set(langs)):
        ids, arr = store.text_features(lang)
        arr = np.asarray(arr, dtype=np.float32)
        dim = arr.shape[1]
        rows.update({cid: arr[i] for i, cid in enumerate(ids)})
    missing = [c.caption_id for c in captions if c.caption_id not in rows]
    if missing:
        raise ValueError(f"{_store_name(store)}: no cached text features for {len(missing)} captions, "
                         f"e.g. {missing[:5]}; run `mvkit extract` for these languages")
    if not captions:
        return torch.zeros(0, dim or 0)
    return torch.from_numpy(np.stack([rows[c.caption_id] for c in captions]))


def _rows_from(store: Any, caps: list[CaptionRecord], rows: Tensor) -> Tensor:
    """Text features of the captions where ``rows`` is True (zeros elsewhere: that tower ignores them)."""
    sel = [c for c, r in zip(caps, rows.tolist()) if r]
    if not sel:
        return torch.zeros(len(caps), 1)
    feats = _text_table(store, sel, {c.lang for c in sel})
    out = feats.new_zeros(len(caps), feats.shape[1])
    out[rows] = feats
    return out


class MissingVideosWarning(UserWarning):
    """Videos of a training or validation split have no features and were left out (counted)."""


def check_missing_videos(split: str, skipped: dict[str, str], n_videos: int, store_name: str,
                         allow: bool = False) -> None:
    """Warn (train/val) or raise ``ValueError`` (any evaluation split) about videos without features.

    The message says how many of the split's videos are missing and names a few with the
    store's reason. ``allow`` turns the evaluation error into the warning.
    """
    if not skipped:
        return
    few = ", ".join(f"{v!r} ({why})" for v, why in list(skipped.items())[:5])
    more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    what = f"{store_name}: {len(skipped)} of the {n_videos} {split!r} videos have no features: {few}{more}"
    if split in ("train", "val") or allow:
        note = "" if split in ("train", "val") else " (allow_missing_videos: evaluated on the videos there are)"
        warnings.warn(f"{what}; left out{note}", MissingVideosWarning, stacklevel=3)
        return
    raise ValueError(f"{what}. A smaller gallery changes every metric, so this is an error on the "
                     f"{split!r} split; extract the missing videos, or pass allow_missing_videos=True "
                     f"(mvkit train --allow-missing-videos) to evaluate on the videos there are (recorded "
                     f"in the protocol)")


def missing_videos(dataset: RetrievalDataset, store: Any, split: str) -> dict[str, str]:
    """Videos of ``split`` the store has no features for, with the store's reason."""
    in_store, why = set(store.video_ids), getattr(store, "skipped", {}) or {}
    return {v.video_id: why.get(v.video_id, "not in feature store")
            for v in dataset.videos if v.split == split and v.video_id not in in_store}


def build_split(dataset: RetrievalDataset, store: Any, split: str, streams: Sequence[str], *,
                langs: Sequence[str] | None = None, kinds: Sequence[str] | None = None,
                ml_store: Any | None = None, text_features: bool = True,
                allow_missing_videos: bool = False) -> SplitData:
    """Load one split: its videos present in ``store`` and captions of ``langs``/``kinds``.

    ml_store: the multilingual tower's store for the dual text path (non-English rows);
    ``text_features=False`` skips cached text (text fine-tuning tokenises instead).
    Videos without features: see :func:`check_missing_videos` (``allow_missing_videos``).
    """
    sub = dataset.subset(split=split, langs=langs, kinds=kinds)
    if not sub.videos:
        raise ValueError(f"{dataset.source or dataset.name}: split {split!r} has no videos "
                         f"(splits: {dataset.splits})")
    in_store = set(store.video_ids)
    skipped = missing_videos(sub, store, split)
    check_missing_videos(split, skipped, len(sub.videos), _store_name(store), allow_missing_videos)
    vids = [v.video_id for v in sub.videos if v.video_id in in_store]
    if not vids:
        raise ValueError(f"{_store_name(store)}: none of the {len(sub.videos)} {split!r} videos has features")
    feats, masks = {}, {}
    for s in streams:
        feats[s], masks[s] = load_stream(store, vids, s)
    index = {v: i for i, v in enumerate(vids)}
    caps = [c for c in sub.captions if c.video_id in index]
    if not caps:
        raise ValueError(f"{dataset.source or dataset.name}: split {split!r} has no captions for "
                         f"langs={list(langs) if langs else 'all'} kinds={list(kinds) if kinds else 'all'}")
    is_en = torch.tensor([c.lang == "en" for c in caps])
    text, ml_text = None, None
    if ml_store is None:
        text = _text_table(store, caps, {c.lang for c in caps}) if text_features else None
    else:   # dual path: English rows from the English tower's store, the others from ml_store
        text = _rows_from(store, caps, is_en) if text_features else None
        ml_text = _rows_from(ml_store, caps, ~is_en)
    return SplitData(split, vids, feats, masks, caps, torch.tensor([index[c.video_id] for c in caps]),
                     is_en, text, ml_text, skipped)
