"""The one dataset shape every reader returns: videos, captions and partial labels.

Real datasets (MSR-VTT, VATEX, RUDDER, ...) and the embedded world all load into a
:class:`RetrievalDataset`, so features, training, metrics and notebooks never care
where the data came from.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

CAPTION_KINDS = ("human", "machine-translated", "back-translated")
PARTIAL_LABELS = {0: "positive", 1: "partial", 2: "negative"}
# a span may end this far past the video's duration (float rounding of release files)
SPAN_TOLERANCE = 1e-3


class Span(NamedTuple):
    """A moment of a video in seconds, ``start < end`` (a tuple, so it writes as a JSON pair)."""

    start: float
    end: float


def as_spans(spans: Any) -> tuple[Span, ...]:
    """``[[s, e], ...]`` -> ``(Span, ...)``; raises ``ValueError`` naming a span with ``start >= end``."""
    out = []
    for sp in spans:
        try:
            s, e = (float(x) for x in sp)
        except (TypeError, ValueError):
            raise ValueError(f"span {sp!r} is not a [start, end] pair of numbers") from None
        if not s < e:
            raise ValueError(f"span [{s:g}, {e:g}]: start must be before end")
        out.append(Span(s, e))
    return tuple(out)


@dataclass(frozen=True)
class VideoRecord:
    """One video. ``path`` is relative to the dataset root (or absolute)."""

    video_id: str
    path: str | None
    split: str
    duration: float | None = None
    has_audio: bool | None = None
    attributes: Mapping[str, Any] | None = None   # ground truth (embedded world only)
    events: tuple = ()                             # ((label, start_s, end_s), ...) for grounding


@dataclass(frozen=True)
class CaptionRecord:
    """One caption of one video in one language.

    ``kind`` is one of :data:`CAPTION_KINDS`; ``source_id`` links a translation to the
    caption it was made from, so translations of the same sentence can be paired.
    ``spans`` (temporal grounding) are the moments of the video the caption describes,
    ``(Span(start_s, end_s), ...)``: one or several ground-truth windows; ``None`` when the
    caption is not a grounding query or its windows are withheld (a test release).
    """

    caption_id: str
    video_id: str
    lang: str
    text: str
    kind: str = "human"
    source_id: str | None = None
    attributes: Mapping[str, Any] | None = None   # attributes the caption mentions (embedded)
    spans: tuple[Span, ...] | None = None          # grounding: ground-truth windows in seconds

    def __post_init__(self) -> None:
        if self.spans is not None:   # JSON lists -> Spans; start >= end is an error here
            object.__setattr__(self, "spans", as_spans(self.spans))

    @property
    def is_translate_test(self) -> bool:
        """A machine translation *into English* of a caption in another language: the
        translate-test query that stands for its source (CCR's ``zhc2en`` captions)."""
        return self.kind == "machine-translated" and self.lang == "en" and self.source_id is not None


@dataclass(frozen=True)
class PartialLabel:
    """RUDDER-style relevance of a caption to a video: 0 positive, 1 partial, 2 negative."""

    video_id: str
    caption_id: str
    label: int


@dataclass
class RetrievalDataset:
    """Videos, captions and partial labels of one dataset, validated on construction."""

    name: str
    root: Path
    videos: list[VideoRecord]
    captions: list[CaptionRecord]
    partial_labels: list[PartialLabel] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""   # file or manifest it came from, named in errors

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.validate()

    # ---- validation -------------------------------------------------------------
    def validate(self) -> None:
        """Raise ``ValueError`` naming the source and offending ids on inconsistent data."""
        src = self.source or self.name
        dup_v = [v for v, n in Counter(v.video_id for v in self.videos).items() if n > 1]
        if dup_v:
            raise ValueError(f"{src}: duplicate video ids: {dup_v[:10]}{' ...' if len(dup_v) > 10 else ''}")
        dup_c = [c for c, n in Counter(c.caption_id for c in self.captions).items() if n > 1]
        if dup_c:
            raise ValueError(f"{src}: duplicate caption ids: {dup_c[:10]}{' ...' if len(dup_c) > 10 else ''}")
        vids = {v.video_id for v in self.videos}
        unknown = sorted({c.video_id for c in self.captions if c.video_id not in vids})
        if unknown:
            bad = [f"{c.caption_id} -> {c.video_id}" for c in self.captions if c.video_id not in vids]
            raise ValueError(f"{src}: captions for unknown videos: {unknown[:10]}{' ...' if len(unknown) > 10 else ''}"
                             f" (caption -> video: {bad[:10]}{' ...' if len(bad) > 10 else ''})")
        empty = [c.caption_id for c in self.captions if not c.text or not c.text.strip()]
        if empty:
            raise ValueError(f"{src}: empty captions: {empty[:10]}{' ...' if len(empty) > 10 else ''}")
        bad_kind = sorted({c.kind for c in self.captions if c.kind not in CAPTION_KINDS})
        if bad_kind:
            raise ValueError(f"{src}: unknown caption kinds {bad_kind}; expected one of {CAPTION_KINDS}")
        from mvkit.data.languages import LANGUAGES
        bad_lang = sorted({c.lang for c in self.captions if c.lang not in LANGUAGES})
        if bad_lang:
            ids = [c.caption_id for c in self.captions if c.lang not in LANGUAGES]
            raise ValueError(f"{src}: non-canonical language codes {bad_lang} in captions "
                             f"{ids[:10]}{' ...' if len(ids) > 10 else ''}; map them with normalize_lang")
        cids = {c.caption_id for c in self.captions}
        bad_pl = [(p.video_id, p.caption_id) for p in self.partial_labels
                  if p.video_id not in vids or p.caption_id not in cids or p.label not in PARTIAL_LABELS]
        if bad_pl:
            raise ValueError(f"{src}: partial labels with unknown ids or labels: {bad_pl[:10]}")
        self._validate_spans(src)

    def _validate_spans(self, src: str) -> None:
        """Every grounding span lies inside its video (``0 <= start < end <= duration``)."""
        duration = {v.video_id: v.duration for v in self.videos}
        bad = []
        for c in self.captions:
            if not c.spans:
                continue
            d = duration[c.video_id]
            if d is None:
                bad.append(f"{c.caption_id} (video {c.video_id!r} has no duration)")
                continue
            bad += [f"{c.caption_id} [{s:g}, {e:g}] (duration {d:g})" for s, e in c.spans
                    if s < 0 or e > d + SPAN_TOLERANCE]
        if bad:
            raise ValueError(f"{src}: spans outside their video's duration: {bad[:10]}"
                             f"{' ...' if len(bad) > 10 else ''}")

    # ---- views ------------------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        return sorted({c.lang for c in self.captions})

    @property
    def splits(self) -> list[str]:
        return sorted({v.split for v in self.videos})

    def video_index(self) -> dict[str, int]:
        return {v.video_id: i for i, v in enumerate(self.videos)}

    def video_path(self, video: VideoRecord) -> Path | None:
        if video.path is None:
            return None
        p = Path(video.path)
        return p if p.is_absolute() else self.root / p

    def subset(
        self,
        split: str | Sequence[str] | None = None,
        langs: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> RetrievalDataset:
        """A dataset restricted to some splits, caption languages and caption kinds."""
        splits = None if split is None else ({split} if isinstance(split, str) else set(split))
        videos = [v for v in self.videos if splits is None or v.split in splits]
        keep = {v.video_id for v in videos}
        langs = None if langs is None else set(langs)
        kinds = None if kinds is None else set(kinds)
        caps = [c for c in self.captions if c.video_id in keep
                and (langs is None or c.lang in langs) and (kinds is None or c.kind in kinds)]
        cids = {c.caption_id for c in caps}
        pls = [p for p in self.partial_labels if p.video_id in keep and p.caption_id in cids]
        return replace(self, videos=videos, captions=caps, partial_labels=pls)

    def summary(self) -> dict[str, Any]:
        """Counts per split and per (language, kind), for a first look in a notebook."""
        per_lang: Counter = Counter((c.lang, c.kind) for c in self.captions)
        return {
            "name": self.name,
            "videos": dict(Counter(v.split for v in self.videos)),
            "captions": {f"{l}/{k}": n for (l, k), n in sorted(per_lang.items())},
            "partial_labels": len(self.partial_labels),
        }
