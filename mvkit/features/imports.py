"""Published video features into the feature store: CCR ``FeatureData`` folders, C2KD pickles.

Several releases ship features instead of (or besides) videos, so a researcher can train
without decoding a single clip. ``mvkit import-features`` (or the functions below) writes
them into an ordinary :class:`~mvkit.features.store.FeatureStore`, each as a named stream
(``i3d``, ``resnet152``, ...: a head reads it with ``{"stream": "i3d"}`` in its config),
with provenance naming the source files and their checksums.

* **CCR FeatureData** (NRCCR / LECCR / MLCMR / dual encoding, ``VisualSearch/<collection>/
  FeatureData/<name>/``): ``feature.bin`` float32 rows, ``id.txt`` the row (frame) ids
  separated by white space, ``shape.txt`` ``"N D"``, ``video2frames.txt`` a Python dict
  literal ``{video id: [frame ids]}``, parsed with ``ast.literal_eval`` (never ``eval``).
* **C2KD pickles** (e.g. ``msrvtt_train_multilingual.pkl``): lists of clip dicts whose array
  keys (``"2d"`` CLIP frame features ``[T, D]``, ...) become streams; ``allow_pickle=True``.

Captions still need text features from an encoder: ``extract_text_features(dataset,
encoder, store)`` writes them into the same store.
"""
from __future__ import annotations

import argparse
import ast
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import mvkit
from mvkit.features.store import FeatureStore, StoreWriter, open_store

_STREAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
FEATUREDATA_FILES = ("feature.bin", "id.txt", "shape.txt", "video2frames.txt")


def _check_stream(name: str) -> str:
    if not _STREAM.match(name):
        raise ValueError(f"stream name {name!r}: use letters, digits, '_', '.' or '-' (it names a file)")
    return name


# --------------------------------------------------------------------------- CCR FeatureData
class FeatureData:
    """A CCR ``FeatureData/<name>/`` folder, read lazily (``feature.bin`` is memory-mapped).

    ``frames(video_id) -> float32 [T, D]`` in ``video2frames.txt`` order. Every check
    names the file: a shape that disagrees with ``id.txt`` or with the size of
    ``feature.bin``, a ``video2frames.txt`` that is not a dict literal, frame ids that
    ``id.txt`` does not list.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        from mvkit.data.readers.common import read_text

        self.path = Path(path)
        for name in FEATUREDATA_FILES:
            if not (self.path / name).is_file():
                raise FileNotFoundError(f"{self.path / name}: not found; a FeatureData folder holds "
                                        f"{', '.join(FEATUREDATA_FILES)}")
        shape = read_text(self.path / "shape.txt").split()
        if len(shape) != 2 or not all(s.isdigit() for s in shape):
            raise ValueError(f"{self.path / 'shape.txt'}: expected 'N D' (two integers), got {' '.join(shape)!r}")
        self.n, self.dim = int(shape[0]), int(shape[1])
        ids = read_text(self.path / "id.txt").split()
        if len(ids) != self.n:
            raise ValueError(f"{self.path / 'id.txt'}: {len(ids)} ids, but shape.txt says {self.n} rows")
        size = (self.path / "feature.bin").stat().st_size
        if size != self.n * self.dim * 4:
            raise ValueError(f"{self.path / 'feature.bin'}: {size} bytes, expected {self.n} x {self.dim} float32 "
                             f"= {self.n * self.dim * 4} (shape.txt); truncated or another dtype")
        self.row = {fid: i for i, fid in enumerate(ids)}
        if len(self.row) != len(ids):
            raise ValueError(f"{self.path / 'id.txt'}: duplicate frame ids")
        v2f_path = self.path / "video2frames.txt"
        try:
            v2f = ast.literal_eval(read_text(v2f_path).strip() or "{}")
        except (SyntaxError, ValueError) as e:
            line = getattr(e, "lineno", None)
            raise ValueError(f"{v2f_path}{f':{line}' if line else ''}: not a Python dict literal "
                             f"{{video id: [frame ids]}} ({type(e).__name__}: {e.args[0] if e.args else e})") from None
        if not isinstance(v2f, dict) or not all(isinstance(f, (list, tuple)) for f in v2f.values()):
            raise ValueError(f"{v2f_path}: expected a dict {{video id: [frame ids]}}")
        self.video2frames = {str(v): [str(f) for f in fs] for v, fs in v2f.items()}
        unknown = {v: [f for f in fs if f not in self.row] for v, fs in self.video2frames.items()}
        unknown = {v: fs for v, fs in unknown.items() if fs}
        if unknown:
            from mvkit.data.readers.common import fmt_ids
            first = next(iter(unknown))
            raise ValueError(f"{v2f_path}: frame ids not in id.txt for {len(unknown)} video(s) "
                             f"{fmt_ids(unknown)}, e.g. {first!r}: {unknown[first][:3]}")
        self._bin = np.memmap(self.path / "feature.bin", dtype=np.float32, mode="r", shape=(self.n, self.dim))

    @property
    def video_ids(self) -> list[str]:
        return list(self.video2frames)

    def frames(self, video_id: str) -> np.ndarray:
        rows = [self.row[f] for f in self.video2frames[video_id]]
        return np.asarray(self._bin[rows], dtype=np.float32)

    def source(self) -> dict[str, Any]:
        """Provenance of the folder: path, shape, sizes and sha256 of its four files."""
        from mvkit.data.manifests import sha256_file

        return {"format": "ccr-featuredata", "path": str(self.path.resolve()), "shape": [self.n, self.dim],
                "files": {n: {"bytes": (self.path / n).stat().st_size, "sha256": sha256_file(self.path / n)}
                          for n in FEATUREDATA_FILES}}


def import_featuredata(streams: Mapping[str, str | os.PathLike], out: str | os.PathLike, *,
                       video_ids: Sequence[str] | None = None, videos_per_shard: int = 256,
                       progress: bool = True) -> FeatureStore:
    """Import CCR ``FeatureData`` folders into the store at ``out``, one named stream each.

    ``streams`` maps a stream name to its folder, e.g. ``{"i3d": ".../FeatureData/i3d_kinetics"}``;
    several folders become several streams of one store. ``video_ids`` (e.g. the dataset's)
    fixes the videos; a video a folder does not list gets no features of that stream, and
    one no folder lists is recorded as skipped in ``report.json``. Resumes like an extraction.
    """
    sources = {_check_stream(s): FeatureData(p) for s, p in streams.items()}
    if not sources:
        raise ValueError("import_featuredata: give at least one stream name -> FeatureData folder")
    ids = list(video_ids) if video_ids is not None else sorted({v for fd in sources.values() for v in fd.video_ids})

    def get(vid: str) -> dict[str, np.ndarray]:
        return {s: fd.frames(vid) for s, fd in sources.items() if fd.video2frames.get(vid)}

    prov = _provenance({s: fd.dim for s, fd in sources.items()}, {s: fd.source() for s, fd in sources.items()},
                       "as released (video2frames.txt order)")
    return write_imported(out, ids, get, prov, videos_per_shard, progress,
                          missing=f"in none of the FeatureData folders ({', '.join(sources)})")


# --------------------------------------------------------------------------- C2KD pickles
def import_c2kd_features(pickles: Sequence[str | os.PathLike], out: str | os.PathLike, *,
                         streams: Mapping[str, str] | None = None, allow_pickle: bool = False,
                         videos_per_shard: int = 256, progress: bool = True) -> FeatureStore:
    """Import the frame features of C2KD's pickled releases into the store at ``out``.

    ``streams`` maps a pickle key to a stream name (default ``{"2d": "appearance"}``: C2KD's
    per-frame CLIP features); every listed key must be a ``[T, D]`` array in every clip.
    Pickles run code when loaded, so ``allow_pickle=True`` is required.
    """
    from mvkit.data.manifests import sha256_file
    from mvkit.data.readers.multi_msrvtt import c2kd_entries

    streams = dict(streams or {"2d": "appearance"})
    for s in streams.values():
        _check_stream(s)
    clips: dict[str, dict[str, np.ndarray]] = {}
    dims: dict[str, int] = {}
    for path in map(Path, pickles):
        for i, e in enumerate(c2kd_entries(path, allow_pickle)):
            vid = str(e["id"])
            if vid in clips:
                raise ValueError(f"{path}: clip {vid!r} also appears in an earlier pickle")
            feats = {}
            for key, stream in streams.items():
                arr = np.asarray(e.get(key)) if key in e else None
                if arr is None or arr.ndim != 2:
                    raise ValueError(f"{path}: entry [{i}] (id {vid!r}) has no [T, D] array under {key!r} "
                                     f"(array keys: {sorted(k for k, v in e.items() if hasattr(v, 'shape'))})")
                if dims.setdefault(stream, arr.shape[1]) != arr.shape[1]:
                    raise ValueError(f"{path}: entry [{i}] (id {vid!r}) {key!r} has width {arr.shape[1]}, "
                                     f"earlier clips {dims[stream]}")
                feats[stream] = arr.astype(np.float32)
            clips[vid] = feats
    if not clips:
        raise ValueError(f"import_c2kd_features: no clips in {list(map(str, pickles))}")
    source = {"format": "c2kd-pickle", "keys": streams,
              "files": {str(Path(p).resolve()): {"bytes": Path(p).stat().st_size, "sha256": sha256_file(p)}
                        for p in pickles}}
    prov = _provenance(dims, {s: source for s in dims}, "as released (C2KD pickles)")
    return write_imported(out, sorted(clips), clips.__getitem__, prov, videos_per_shard, progress)


# --------------------------------------------------------------------------- writing
def _provenance(dims: Mapping[str, int], sources: Mapping[str, Any], sampling: str) -> dict[str, Any]:
    """Store provenance of imported features: what they are and exactly which files they came from."""
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()
    return {"encoder": "imported:" + "+".join(sorted(dims)), "pretrained": None, "weights_sha256": digest,
            "streams": {s: int(d) for s, d in dims.items()}, "encoder_provenance": {"imported": dict(sources)},
            "num_frames": None, "sampling": sampling, "dtype": "float32", "mvkit_version": mvkit.__version__}


def write_imported(out: str | os.PathLike, video_ids: Sequence[str],
                   get: Callable[[str], Mapping[str, np.ndarray]], provenance: Mapping[str, Any],
                   videos_per_shard: int = 256, progress: bool = True,
                   missing: str = "no features in the source") -> FeatureStore:
    """Write features ``get(video_id) -> {stream: [T, D]}`` into a store, shard by shard (resumable).

    A video for which ``get`` returns no stream is recorded as skipped with ``missing``.
    """
    from tqdm.auto import tqdm

    from mvkit.features.extract import plan_shards

    plan = plan_shards(list(video_ids), videos_per_shard)
    writer = StoreWriter(out, provenance, plan)
    writer.clean_stale()
    for k in tqdm(writer.pending(), desc="import features", unit="shard", disable=not progress):
        feats, skipped = {}, {}
        for vid in plan[k]:
            f = get(vid)
            if f:
                feats[vid] = f
            else:
                skipped[vid] = f"missing: {missing}"
        writer.write_shard(k, feats, skipped)
    writer.finalize()
    return open_store(out)


# --------------------------------------------------------------------------- CLI
def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key or not val:
            raise SystemExit(f"mvkit import-features: {what} must look like name=value, got {item!r}")
        out[key] = val
    return out


def main(argv: list[str] | None = None) -> int:
    """``mvkit import-features``: published features into a feature store."""
    ap = argparse.ArgumentParser(prog="mvkit import-features", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="store folder (resumed if it exists)")
    ap.add_argument("--featuredata", action="append", default=[], metavar="STREAM=DIR",
                    help="a CCR FeatureData folder as a named stream, e.g. i3d=VisualSearch/vatex/FeatureData/i3d_kinetics")
    ap.add_argument("--c2kd", action="append", default=[], metavar="PICKLE", help="a C2KD pickle (repeat for train/test)")
    ap.add_argument("--key", action="append", default=[], metavar="KEY=STREAM",
                    help="C2KD array key -> stream (default 2d=appearance)")
    ap.add_argument("--allow-pickle", action="store_true", help="trust the C2KD pickles (they run code when loaded)")
    ap.add_argument("--videos", default=None, help="file of video ids (one a line) fixing the store's videos")
    ap.add_argument("--videos-per-shard", type=int, default=256)
    args = ap.parse_args(argv)
    if bool(args.featuredata) == bool(args.c2kd):
        raise SystemExit("mvkit import-features: give --featuredata STREAM=DIR or --c2kd PICKLE (not both)")
    if args.featuredata:
        ids = None
        if args.videos:
            from mvkit.data.readers.common import read_lines
            ids = [ln.strip() for _, ln in read_lines(Path(args.videos))]
        store = import_featuredata(_pairs(args.featuredata, "--featuredata"), args.out, video_ids=ids,
                                   videos_per_shard=args.videos_per_shard)
    else:
        store = import_c2kd_features(args.c2kd, args.out, streams=_pairs(args.key, "--key") or None,
                                     allow_pickle=args.allow_pickle, videos_per_shard=args.videos_per_shard)
    print(f"{store.path}: {len(store.video_ids)} videos, streams {store.dims}, {len(store.skipped)} skipped "
          f"(see report.json); add text features with mvkit.features.extract.extract_text_features")
    return 0
