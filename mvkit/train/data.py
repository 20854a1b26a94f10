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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mvkit.data.records import CaptionRecord, RetrievalDataset
from mvkit.models.fusion import VideoBatch
from mvkit.models.text import TextBatch

#: what :func:`build_split` needs to tokenise: ``tok.tokenize(texts, lang) -> LongTensor [n, L]`` plus
#: ``pad_id``, ``unk_id`` and ``special_ids`` (a TrainableText or the encoder's TextTokenizer)
Tokenizer = Any


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

    ``caption_video[i]`` is the row in the video tables of caption i's video. ``text``
    holds cached text features (frozen text side; on the dual path with a trainable module
    only the English rows); ``ml_text`` the cached multilingual tower's (dual path); ``tokens``
    / ``lengths`` the captions tokenised once for a trainable text side (right-padded;
    a batch is cut to its own longest caption). ``query_langs`` is the language a query
    stands for: its own, except for a machine translation *into English* of another
    language's caption (translate-test), which stands for the source's language.
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
    tokens: Tensor | None = None
    lengths: Tensor | None = None
    query_langs: list[str] | None = None

    @property
    def langs(self) -> list[str]:
        return [c.lang for c in self.captions]

    def video_batch(self, rows: Tensor) -> VideoBatch:
        """Videos at ``rows`` (indices into ``video_ids``)."""
        return VideoBatch({k: v[rows] for k, v in self.feats.items()}, {k: m[rows] for k, m in self.masks.items()})

    def text_batch(self, rows: Tensor) -> TextBatch:
        """Captions at ``rows``: cached features and / or tokens cut to the batch's longest caption."""
        return text_batch_of(rows, self.is_en, self.text, self.ml_text, self.tokens, self.lengths)

    def rows_of(self, caption_ids: Sequence[str | None]) -> tuple[Tensor, Tensor]:
        """``(rows, found)``: the row of each caption id here (0 where absent, ``found`` False)."""
        index = {c.caption_id: i for i, c in enumerate(self.captions)}
        rows = torch.tensor([index.get(c, -1) if c else -1 for c in caption_ids], dtype=torch.long)
        found = rows >= 0
        return rows.clamp_min(0), found

    def subset_captions(self, keep: Iterable[int]) -> SplitData:
        """The same videos with only the captions at ``keep`` (e.g. one language)."""
        keep = torch.as_tensor(list(keep), dtype=torch.long)

        def sel(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[keep]
        return SplitData(self.split, self.video_ids, self.feats, self.masks,
                         [self.captions[i] for i in keep.tolist()], self.caption_video[keep],
                         self.is_en[keep], sel(self.text), sel(self.ml_text), self.skipped,
                         sel(self.tokens), sel(self.lengths),
                         None if self.query_langs is None else [self.query_langs[i] for i in keep.tolist()])


def text_batch_of(rows: Tensor, is_en: Tensor, text: Tensor | None = None, ml_text: Tensor | None = None,
                  tokens: Tensor | None = None, lengths: Tensor | None = None) -> TextBatch:
    """Rows of a caption table as a :class:`TextBatch` (tokens cut to the rows' longest caption)."""
    cut = None
    if tokens is not None:
        n = int(lengths[rows].max()) if len(rows) else 1
        cut = tokens[rows, :max(n, 1)]
    return TextBatch(None if text is None else text[rows], is_en[rows],
                     None if ml_text is None else ml_text[rows], cut)


@dataclass
class CaptionTable:
    """Captions without videos (e.g. probe captions), with cached features and / or tokens."""

    captions: list[CaptionRecord]
    text: Tensor | None = None
    tokens: Tensor | None = None
    lengths: Tensor | None = None
    is_en: Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.is_en = torch.tensor([c.lang == "en" for c in self.captions], dtype=torch.bool)

    def text_batch(self, rows: Tensor) -> TextBatch:
        return text_batch_of(rows, self.is_en, self.text, None, self.tokens, self.lengths)


def caption_table(captions: Sequence[CaptionRecord], features: Tensor | None = None,
                  tokenizer: Tokenizer | None = None, where: str = "") -> CaptionTable:
    """A :class:`CaptionTable` of ``captions``: given features and / or tokens from ``tokenizer``."""
    tokens = lengths = None
    if tokenizer is not None:
        tokens, lengths = tokenize_captions(captions, tokenizer, where)
    return CaptionTable(list(captions), features, tokens, lengths)


#: share of a language's captions that may be mostly unknown tokens before it is an error
MAX_UNKNOWN_SHARE = 0.5


def tokenize_captions(captions: Sequence[CaptionRecord], tokenizer: Tokenizer, where: str = "") -> tuple[Tensor, Tensor]:
    """All captions tokenised once (per language, as NLLB towers need): ``(tokens [N, L], lengths [N])``.

    A language the tokenizer cannot write (most of its captions are mostly unknown tokens, or
    have no content token at all) is an error naming the language, instead of a text side
    trained on empty bags. Byte-level vocabularies have no unknown token and always pass.
    """
    pad, unk = int(tokenizer.pad_id), tokenizer.unk_id
    special = torch.tensor(sorted(set(tokenizer.special_ids)))
    by_lang: dict[str, list[int]] = {}
    for i, c in enumerate(captions):
        by_lang.setdefault(c.lang, []).append(i)
    parts: dict[str, Tensor] = {}
    for lang, rows in sorted(by_lang.items()):
        tok = tokenizer.tokenize([captions[i].text for i in rows], lang)
        content = ~torch.isin(tok, special)
        n_unk = ((tok == unk) & content).sum(1) if unk is not None else torch.zeros(len(rows))
        blank = int(((content.sum(1) == 0) | (2 * n_unk > content.sum(1))).sum())
        if blank > MAX_UNKNOWN_SHARE * len(rows):
            raise ValueError(f"{where or 'captions'}: the text encoder's tokenizer cannot represent {lang!r}: "
                             f"{blank} of its {len(rows)} captions are mostly unknown tokens; choose a text "
                             "encoder whose vocabulary covers this script")
        parts[lang] = tok
    width = max((t.shape[1] for t in parts.values()), default=1)
    tokens = torch.full((len(captions), width), pad, dtype=torch.long)
    for lang, rows in by_lang.items():
        t = parts[lang]
        tokens[torch.tensor(rows), :t.shape[1]] = t.long()
    used = tokens != pad
    lengths = torch.where(used.any(1), width - used.flip(1).int().argmax(1), torch.ones(len(captions), dtype=torch.long))
    return tokens, lengths


def query_languages(dataset: RetrievalDataset, captions: Sequence[CaptionRecord]) -> list[str]:
    """The language each query stands for (translate-test rows: their source caption's)."""
    lang_of = {c.caption_id: c.lang for c in dataset.captions}
    return [lang_of.get(c.source_id or "", c.lang) if c.is_translate_test else c.lang for c in captions]


def cached_text_features(store: Any, captions: Sequence[CaptionRecord]) -> Tensor:
    """The store's cached text features of ``captions`` (rows in caption order); missing ones are an error."""
    return _text_table(store, list(captions), {c.lang for c in captions})


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
                ml_store: Any | None = None, cached_text: str = "all",
                tokenizer: Tokenizer | None = None, allow_missing_videos: bool = False) -> SplitData:
    """Load one split: its videos present in ``store`` and captions of ``langs``/``kinds``.

    cached_text: which rows get the store's cached text features: ``"all"``, ``"en"`` (the
    dual path with a trainable multilingual side) or ``"none"`` (a trainable text side
    only). tokenizer: tokenise every caption once for a trainable text side. ml_store: the
    multilingual tower's store for the dual text path (non-English rows). Videos without
    features: see :func:`check_missing_videos` (``allow_missing_videos``).
    """
    if cached_text not in ("all", "en", "none"):
        raise ValueError(f"cached_text must be 'all', 'en' or 'none', got {cached_text!r}")
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
        if cached_text == "all":
            text = _text_table(store, caps, {c.lang for c in caps})
        elif cached_text == "en":
            text = _rows_from(store, caps, is_en)
    else:   # dual path: English rows from the English tower's store, the others from ml_store
        text = _rows_from(store, caps, is_en) if cached_text != "none" else None
        ml_text = _rows_from(ml_store, caps, ~is_en)
    tokens = lengths = None
    if tokenizer is not None:
        tokens, lengths = tokenize_captions(caps, tokenizer, f"{dataset.source or dataset.name} ({split})")
    return SplitData(split, vids, feats, masks, caps, torch.tensor([index[c.video_id] for c in caps]),
                     is_en, text, ml_text, skipped, tokens, lengths, query_languages(dataset, caps))


def split_for_model(model: Any, dataset: RetrievalDataset, store: Any, split: str, *,
                    langs: Sequence[str] | None = None, kinds: Sequence[str] | None = ("human",),
                    ml_store: Any | None = None, allow_missing_videos: bool = False) -> SplitData:
    """The split as ``model`` reads it: cached features and / or tokens for its text side."""
    text = model.text
    trainable = text.module is not None
    cached = "none" if (trainable and not text.dual) else ("en" if trainable else "all")
    data = build_split(dataset, store, split, model.streams, langs=langs, kinds=kinds, ml_store=ml_store,
                       cached_text=cached, tokenizer=text.module if trainable else None,
                       allow_missing_videos=allow_missing_videos)
    if text.ml_dim and not trainable and data.ml_text is None:
        data.ml_text = data.text
    return data
