"""The feature cache: sharded, memory-mapped per-stream arrays with provenance.

Layout of a store directory::

    provenance.json          encoder, pretrained, weights hash, sampling, mvkit version, streams
    plan.json                the video ids of every shard (fixed before extraction starts)
    shards/00003/            one finished shard (a directory renamed into place = atomic)
        index.json           video ids, rows of each video in each stream, skipped videos
        appearance.npy       [sum of T over the shard's videos, D] (one file per stream)
        DONE                 completed-shard marker (written last, before the rename)
    text/<lang>/             caption_ids.json, features.npy [N, D], meta.json (text provenance)
    index.json               written when every shard is done: the store is complete
    report.json              videos skipped (corrupt, truncated, missing) and why; videos whose
                             record says they have sound but whose file has no audio stream

A shard is built in a temporary directory and renamed into place, so a kill (or a full
disk) at any moment leaves either a finished shard or none; resuming skips finished
shards. Directories get the usual permissions (the umask's), so a shared store is
readable by the group.
Provenance is checked on load and on resume, so features of two encoders, two
samplings or two versions are never mixed in one store.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mvkit.io import atomic_write_json, make_temp_dir, naming_os_errors, read_json

FORMAT_VERSION = 1
_SHARDS = "shards"
_TEXT = "text"


class ProvenanceMismatch(ValueError):
    """A store's recorded provenance differs from what the caller expects."""


class IncompleteStore(RuntimeError):
    """A store whose extraction has not finished (some shards missing)."""


_ABSENT = "<absent>"
AUDIO_MISSING = "the dataset record says it has sound, but the file has no audio stream"


def check_provenance(found: Mapping[str, Any], expect: Mapping[str, Any], where: str | os.PathLike,
                     exact: bool = False) -> None:
    """Raise :class:`ProvenanceMismatch` naming the first key whose value differs.

    Only the keys of ``expect`` are checked unless ``exact`` (then a key present on one
    side only is a mismatch too). Values are compared after a JSON round trip so
    tuples and lists compare equal.
    """
    norm = lambda v: json.loads(json.dumps(v, sort_keys=True))
    keys = list(expect) + ([k for k in found if k not in expect] if exact else [])
    for key in keys:
        have, want = found.get(key, _ABSENT), expect.get(key, _ABSENT)
        if have is _ABSENT or want is _ABSENT or norm(have) != norm(want):
            raise ProvenanceMismatch(
                f"{where}: provenance mismatch on {key!r}: store has {have!r}, expected {want!r}"
                " (features of different encoders or sampling are never mixed; use another output folder)")


def shard_name(k: int) -> str:
    """Directory name of shard ``k`` (zero-padded so listings sort)."""
    return f"{k:05d}"


# --------------------------------------------------------------------------- writing
class StoreWriter:
    """Writes a store: provenance and plan once, then shards and text features atomically.

    ``StoreWriter(path, provenance, plan)`` creates the store or, when it already
    exists, checks that the provenance and plan are the same (raising
    :class:`ProvenanceMismatch` naming the key otherwise), so a resumed or sharded
    extraction always adds to a store of the same encoder and video list.
    """

    def __init__(self, path: str | os.PathLike, provenance: Mapping[str, Any],
                 plan: Sequence[Sequence[str]]) -> None:
        self.path = Path(path)
        self.provenance = dict(provenance)
        self.plan = [list(p) for p in plan]
        prov_file, plan_file = self.path / "provenance.json", self.path / "plan.json"
        if prov_file.exists():
            old = {k: v for k, v in read_json(prov_file).items() if k != "format"}
            check_provenance(old, self.provenance, prov_file, exact=True)
        else:
            atomic_write_json(prov_file, {"format": FORMAT_VERSION, **self.provenance})
        self.provenance = read_json(prov_file)
        if plan_file.exists():
            if read_json(plan_file)["shards"] != self.plan:
                raise ProvenanceMismatch(
                    f"{plan_file}: the store was planned for another video list or shard size;"
                    " use another --out or delete the store")
        else:
            atomic_write_json(plan_file, {"shards": self.plan}, indent=None)
        with naming_os_errors(self.path / _SHARDS):
            (self.path / _SHARDS).mkdir(parents=True, exist_ok=True)

    def is_done(self, k: int) -> bool:
        """True when shard ``k`` is finished (its directory and marker exist)."""
        return (self.path / _SHARDS / shard_name(k) / "DONE").exists()

    def pending(self) -> list[int]:
        """Shards not yet finished, in plan order."""
        return [k for k in range(len(self.plan)) if not self.is_done(k)]

    def clean_stale(self) -> None:
        """Remove temporary shard directories left by a killed run (only ours: ``.tmp-``)."""
        for p in (self.path / _SHARDS).glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)

    def write_shard(self, k: int, features: Mapping[str, Mapping[str, np.ndarray]],
                    skipped: Mapping[str, str], dtype: str = "float32",
                    audio_missing: Sequence[str] = ()) -> None:
        """Write shard ``k`` atomically.

        ``features[video_id][stream]`` is a ``[T, D]`` array (a stream may be absent
        for a video, e.g. audio of a silent clip); ``skipped[video_id]`` the reason a
        video has no features. Every video of the plan's shard must be in exactly one
        of the two, and every array must be finite. ``audio_missing``: videos whose
        dataset record says they have sound but whose file has no audio stream (listed
        in the report).
        """
        ids = self.plan[k]
        missing = [v for v in ids if v not in features and v not in skipped]
        if missing:
            raise ValueError(f"shard {k}: no features and no skip reason for {missing[:5]}")
        streams = self.provenance["streams"]
        rows: dict[str, list] = {s: [] for s in streams}
        parts: dict[str, list[np.ndarray]] = {s: [] for s in streams}
        offsets = dict.fromkeys(streams, 0)
        kept = [v for v in ids if v in features]
        for vid in kept:
            for s, dim in streams.items():
                arr = features[vid].get(s)
                if arr is None:
                    rows[s].append(None)
                    continue
                arr = np.asarray(arr, dtype=np.float32)
                if arr.ndim != 2 or arr.shape[1] != dim:
                    raise ValueError(f"shard {k}: {vid} stream {s!r} has shape {arr.shape}, expected [T, {dim}]")
                if not np.isfinite(arr).all():
                    raise ValueError(f"shard {k}: {vid} stream {s!r} has NaN or inf features")
                out = arr.astype(dtype)
                if not np.isfinite(out).all():
                    raise ValueError(f"shard {k}: {vid} stream {s!r} overflows {dtype}")
                rows[s].append([offsets[s], len(out)])
                offsets[s] += len(out)
                parts[s].append(out)
        no_audio = set(audio_missing)
        shards = self.path / _SHARDS
        tmp = make_temp_dir(shards, f".tmp-{shard_name(k)}-")
        try:
            for s, dim in streams.items():
                arr = np.concatenate(parts[s]) if parts[s] else np.zeros((0, dim), dtype)
                with naming_os_errors(tmp / f"{s}.npy"), open(tmp / f"{s}.npy", "wb") as fh:
                    np.save(fh, arr)
                    fh.flush()
                    os.fsync(fh.fileno())
            index = {"shard": k, "video_ids": kept, "rows": rows,
                     "skipped": {v: skipped[v] for v in ids if v in skipped and v not in features},
                     "audio_missing": [v for v in ids if v in no_audio]}
            atomic_write_json(tmp / "index.json", index, indent=None)
            atomic_write_json(tmp / "DONE", {"shard": k, "n_videos": len(kept)})
            final = shards / shard_name(k)
            with naming_os_errors(final):
                if final.exists():   # a half-removed earlier attempt (never a finished one)
                    shutil.rmtree(final)
                os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def finalize(self) -> bool:
        """Write the top-level index and report once every shard is done; True if complete."""
        if self.pending():
            return False
        skipped: dict[str, str] = {}
        no_audio: list[str] = []
        n_videos = 0
        for k in range(len(self.plan)):
            idx = read_json(self.path / _SHARDS / shard_name(k) / "index.json")
            skipped.update(idx["skipped"])
            no_audio += idx.get("audio_missing", [])
            n_videos += len(idx["video_ids"])
        atomic_write_json(self.path / "report.json",
                          {"n_planned": sum(map(len, self.plan)), "n_extracted": n_videos,
                           "n_skipped": len(skipped), "skipped": skipped,
                           "n_audio_missing": len(no_audio),
                           "audio_missing": {v: AUDIO_MISSING for v in no_audio}})
        atomic_write_json(self.path / "index.json",
                          {"format": FORMAT_VERSION, "complete": True, "n_shards": len(self.plan),
                           "n_videos": n_videos, "streams": self.provenance["streams"]})
        return True


def write_text_features(store_path: str | os.PathLike, lang: str, caption_ids: Sequence[str],
                        features: np.ndarray, provenance: Mapping[str, Any]) -> None:
    """Write one language's text features ``[N, D]`` under ``store/text/<lang>/`` atomically.

    ``provenance`` (the text encoder's) is stored beside them; writing a language again
    with a different provenance raises :class:`ProvenanceMismatch` naming the key.
    """
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) != len(caption_ids):
        raise ValueError(f"text features for {lang!r}: shape {features.shape} does not match "
                         f"{len(caption_ids)} caption ids")
    if not np.isfinite(features).all():
        raise ValueError(f"text features for {lang!r} contain NaN or inf")
    root = Path(store_path) / _TEXT
    with naming_os_errors(root):
        root.mkdir(parents=True, exist_ok=True)
    final = root / lang
    meta = {"lang": lang, "n": len(caption_ids), "dim": int(features.shape[1]), "provenance": dict(provenance)}
    if (final / "meta.json").exists():
        check_provenance(read_json(final / "meta.json")["provenance"], meta["provenance"],
                         final / "meta.json", exact=True)
    tmp = make_temp_dir(root, f".tmp-{lang}-")
    try:
        with naming_os_errors(tmp / "features.npy"), open(tmp / "features.npy", "wb") as fh:
            np.save(fh, features)
        atomic_write_json(tmp / "caption_ids.json", list(caption_ids), indent=None)
        atomic_write_json(tmp / "meta.json", meta)
        with naming_os_errors(final):
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class _Loc:
    shard: int
    rows: Mapping[str, tuple[int, int] | None]


class FeatureStore:
    """Read-only view of a complete store; arrays are memory-mapped per shard and stream."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not (self.path / "provenance.json").exists():
            raise FileNotFoundError(f"{self.path}: not a feature store (no provenance.json)")
        self.provenance: dict[str, Any] = read_json(self.path / "provenance.json")
        if not (self.path / "index.json").exists():
            plan = read_json(self.path / "plan.json")["shards"]
            done = sum((self.path / _SHARDS / shard_name(k) / "DONE").exists() for k in range(len(plan)))
            raise IncompleteStore(f"{self.path}: extraction incomplete ({done} of {len(plan)} shards "
                                  "done); run the same 'mvkit extract' again to finish it")
        self.dims: dict[str, int] = {s: int(d) for s, d in self.provenance["streams"].items()}
        self.streams: list[str] = list(self.dims)
        self._locs: dict[str, _Loc] = {}
        self.skipped: dict[str, str] = {}
        self.audio_missing: list[str] = []
        n_shards = read_json(self.path / "index.json")["n_shards"]
        for k in range(n_shards):
            idx = read_json(self.path / _SHARDS / shard_name(k) / "index.json")
            for i, vid in enumerate(idx["video_ids"]):
                self._locs[vid] = _Loc(k, {s: (tuple(idx["rows"][s][i]) if idx["rows"][s][i] else None)
                                           for s in self.streams})
            self.skipped.update(idx["skipped"])
            self.audio_missing += idx.get("audio_missing", [])
        self.video_ids: list[str] = list(self._locs)
        self._arrays: dict[tuple[int, str], np.ndarray] = {}

    def __repr__(self) -> str:
        return (f"FeatureStore({str(self.path)!r}, encoder={self.provenance.get('encoder')!r}, "
                f"videos={len(self.video_ids)}, skipped={len(self.skipped)}, streams={self.dims})")

    def __len__(self) -> int:
        return len(self.video_ids)

    def __contains__(self, video_id: str) -> bool:
        return video_id in self._locs

    def _array(self, shard: int, stream: str) -> np.ndarray:
        key = (shard, stream)
        if key not in self._arrays:
            self._arrays[key] = np.load(self.path / _SHARDS / shard_name(shard) / f"{stream}.npy", mmap_mode="r")
        return self._arrays[key]

    def _check_stream(self, stream: str) -> None:
        if stream not in self.dims:
            raise KeyError(f"{self.path}: no stream {stream!r}; streams are {self.streams}")

    def has(self, video_id: str, stream: str = "appearance") -> bool:
        """True when the store holds ``stream`` features for the video (False for silent audio)."""
        self._check_stream(stream)
        loc = self._locs.get(video_id)
        return loc is not None and loc.rows[stream] is not None

    def frames(self, video_id: str, stream: str = "appearance") -> np.ndarray:
        """The video's ``float32 [T, D]`` features of one stream.

        Raises ``KeyError`` naming the video (and the skip reason if it was skipped),
        or saying the stream is absent for it (audio of a silent clip).
        """
        self._check_stream(stream)
        loc = self._locs.get(video_id)
        if loc is None:
            why = f" (skipped: {self.skipped[video_id]})" if video_id in self.skipped else ""
            raise KeyError(f"{self.path}: no features for video {video_id!r}{why}")
        rows = loc.rows[stream]
        if rows is None:
            raise KeyError(f"{self.path}: video {video_id!r} has no {stream!r} stream (e.g. no audio track)")
        start, n = rows
        return np.asarray(self._array(loc.shard, stream)[start:start + n], dtype=np.float32)

    def stacked(self, video_ids: Iterable[str], stream: str = "appearance",
                max_len: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pad the videos' features into ``(float32 [N, T, D], bool mask [N, T])``.

        ``T`` is the longest sequence (or ``max_len``, truncating longer ones); padded
        positions are zero and masked out. A video without this stream (silent audio)
        gets an all-False mask row; an unknown or skipped video raises ``KeyError``.
        """
        self._check_stream(stream)
        ids = list(video_ids)
        seqs = [self.frames(v, stream) if self.has(v, stream) else None for v in ids]
        for v, s in zip(ids, seqs):
            if s is None and v not in self._locs:
                self.frames(v, stream)   # raises the explanatory KeyError
        t = max([len(s) for s in seqs if s is not None], default=0)
        t = min(t, max_len) if max_len is not None else t
        out = np.zeros((len(ids), t, self.dims[stream]), np.float32)
        mask = np.zeros((len(ids), t), bool)
        for i, s in enumerate(seqs):
            if s is not None:
                n = min(len(s), t)
                out[i, :n] = s[:n]
                mask[i, :n] = True
        return out, mask

    @property
    def text_langs(self) -> list[str]:
        """Languages with text features in this store."""
        root = self.path / _TEXT
        return sorted(p.name for p in root.iterdir() if (p / "meta.json").exists()) if root.exists() else []

    def text_provenance(self, lang: str) -> dict[str, Any]:
        """The text encoder's provenance for ``lang``."""
        return read_json(self._text_dir(lang) / "meta.json")["provenance"]

    def _text_dir(self, lang: str) -> Path:
        d = self.path / _TEXT / lang
        if not (d / "meta.json").exists():
            raise KeyError(f"{self.path}: no text features for language {lang!r}; have {self.text_langs}")
        return d

    def text_features(self, lang: str) -> tuple[list[str], np.ndarray]:
        """``(caption_ids, float32 [N, D])`` of one language (unnormalised encoder output)."""
        d = self._text_dir(lang)
        return read_json(d / "caption_ids.json"), np.load(d / "features.npy").astype(np.float32, copy=False)


def open_store(path: str | os.PathLike, expect: Mapping[str, Any] | None = None) -> FeatureStore:
    """Open a complete feature store, checking ``expect`` against its provenance.

    ``expect`` such as ``{"encoder": "mvkit-tiny", "num_frames": 8}`` raises
    :class:`ProvenanceMismatch` naming the first key that differs.
    """
    store = FeatureStore(path)
    if expect:
        check_provenance(store.provenance, expect, Path(path) / "provenance.json")
    return store
