"""``mvkit export-encoder``: an open_clip model as a self-contained ``local-dir:`` folder, for offline use.

:func:`export_encoder` lays out the folder of :mod:`mvkit.features.local_dir` (tokenizer files at
the root, the HF config in ``hf/``, every weight in ``open_clip_model.safetensors``: the three
traps of open_clip's ``local-dir:`` format handled) from an open_clip model config, the HF
model's config + tokenizer files (for HF towers) and weights (a checkpoint file, or a seeded
random initialisation), then loads it back with the hub switched off and checks weights and
tokens before writing its marker.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from mvkit.features.local_dir import CONFIG, HF_SUBDIR, MARKER, TOKENIZER_FILES, WEIGHTS

_HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
#: strings the export's tokenizer check encodes (several scripts)
PROBE_TEXTS = ("a red ball moves left", "ein roter Ball", "एक लाल गेंद", "红色的球", "சிவப்பு பந்து")


def _model_config(model: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(model_cfg, preprocess_cfg)`` of an open_clip model name or config file."""
    import open_clip

    path = Path(model)
    if path.suffix == ".json" and path.is_file():
        raw = json.loads(path.read_text(encoding="utf-8"))
        return dict(raw.get("model_cfg", raw)), dict(raw.get("preprocess_cfg") or {})
    cfg = open_clip.get_model_config(model)
    if cfg is None:
        raise ValueError(f"export-encoder: {model!r} is neither an open_clip model name nor a config JSON file")
    return dict(cfg), {}


def _copy_hf_files(src: Path, dest: Path) -> None:
    """Tokenizer files to the root of ``dest``, the HF config to ``dest/hf/`` (traps 1 and 2)."""
    if not (src / "config.json").is_file():
        raise FileNotFoundError(f"{src / 'config.json'}: the HF text model's config is missing (--hf-dir must hold "
                                "config.json and the tokenizer files, e.g. a copy of its hub snapshot)")
    toks = [f for f in TOKENIZER_FILES if (src / f).is_file()]
    if not toks:
        raise FileNotFoundError(f"{src}: no tokenizer files ({', '.join(TOKENIZER_FILES[:2])}, ...)")
    for f in toks:
        shutil.copy2(src / f, dest / f)
    (dest / HF_SUBDIR).mkdir()
    shutil.copy2(src / "config.json", dest / HF_SUBDIR / "config.json")


def export_encoder(model: str, out: str | os.PathLike, *, weights: str | os.PathLike | None = None,
                   hf_dir: str | os.PathLike | None = None, seed: int | None = None) -> Path:
    """Write ``model`` as a ``local-dir:`` folder at ``out`` and check it loads offline.

    model: an open_clip model name (e.g. ``"xlm-roberta-base-ViT-B-32"``) or config JSON.
    hf_dir: for a Hugging Face text tower, a folder with its ``config.json`` and tokenizer
    files (default: ``text_cfg.hf_model_name`` when that is a local folder); if it also holds
    the HF weights (``model.safetensors``) they start the text tower. weights: an open_clip
    checkpoint of the whole model; None = random weights from ``seed`` (None: the seed of the
    last ``mvkit.setup``), recorded in ``mvkit_export.json``. The folder is written under a
    temporary name and renamed into place; an existing ``out`` is an error.

    Returns ``out``; load it with ``create_encoder("local-dir:<out>")`` (or as ``text_model``).
    """
    import open_clip
    from safetensors.torch import save_file

    from mvkit._setup import init_seed, seeded_init
    from mvkit.features.encoders import create_encoder, state_dict_sha256
    from mvkit.features.hub import hub_offline
    from mvkit.io import atomic_write_json

    out = Path(out).resolve()
    if out.exists():
        raise FileExistsError(f"{out}: exists; export-encoder writes a new folder (remove it or pick another)")
    if weights is not None and not Path(weights).is_file():
        raise FileNotFoundError(f"{weights}: weights file not found")
    model_cfg, pp = _model_config(model)
    text_cfg = dict(model_cfg.get("text_cfg") or {})
    hf = "hf_model_name" in text_cfg
    src = Path(hf_dir) if hf_dir is not None else None
    if hf and src is None and Path(str(text_cfg["hf_model_name"])).is_dir():
        src = Path(str(text_cfg["hf_model_name"]))
    if hf and src is None:
        raise ValueError(f"export-encoder: the text tower of {model!r} is the Hugging Face model "
                         f"{text_cfg['hf_model_name']!r}; pass --hf-dir, a folder with its config.json and tokenizer files")
    seed = init_seed() if seed is None else int(seed)
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        if hf:
            _copy_hf_files(src, tmp)
            base_weights = any((src / f).is_file() for f in _HF_WEIGHTS)
            text_cfg.update(hf_model_name=str(out / HF_SUBDIR), hf_tokenizer_name=str(out))
            build_text = {**text_cfg, "hf_model_name": str(tmp / HF_SUBDIR), "hf_tokenizer_name": str(tmp),
                          "hf_model_pretrained": base_weights and weights is None}
            if base_weights and weights is None:
                build_text["hf_model_name"] = str(src)       # the base weights load from where they are
        model_cfg["text_cfg"] = text_cfg
        with hub_offline(), seeded_init(seed):
            kw = {"text_cfg": build_text} if hf else {}
            clip = _build(model, model_cfg, weights, kw)
        state = {k: v.detach().contiguous().cpu() for k, v in clip.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS))
        pp = {**(getattr(clip.visual, "preprocess_cfg", None) or {}), **pp}
        atomic_write_json(tmp / CONFIG, {"model_cfg": model_cfg, "preprocess_cfg": pp})
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    want = state_dict_sha256(clip)
    with hub_offline():                        # the check: nothing but the folder
        enc = create_encoder(f"local-dir:{out}", device="cpu")
        ref = open_clip.get_tokenizer(f"local-dir:{out}") if not hf else _source_tokenizer(src, text_cfg)
    if enc.weights_sha256 != want:
        raise RuntimeError(f"{out}: exported weights load back as {enc.weights_sha256[:12]}, not {want[:12]}")
    if not (enc.tokenizer(list(PROBE_TEXTS)) == ref(list(PROBE_TEXTS))).all():
        raise RuntimeError(f"{out}: the folder's tokenizer gives other ids than the source tokenizer")
    atomic_write_json(out / MARKER, {"model": model, "weights": str(weights) if weights else None,
                                     "init_seed": None if weights else seed, "hf_dir": str(src) if src else None,
                                     "weights_sha256": want, "open_clip_version": open_clip.__version__})
    return out


def _build(model: str, model_cfg: dict[str, Any], weights: Any, kw: dict[str, Any]):
    """The open_clip model of ``model_cfg`` (a built-in name keeps its name), with ``weights`` if given."""
    import open_clip

    name = model
    if open_clip.get_model_config(model) is None:           # a config file: register it under its stem
        name = Path(model).stem
        open_clip.add_model_config(Path(model))
    return open_clip.create_model(name, pretrained=str(weights) if weights else None, pretrained_text=False,
                                  **kw).eval()


def _source_tokenizer(src: Path, text_cfg: dict[str, Any]):
    """The HF tokenizer read from the source folder (what the export must reproduce)."""
    from open_clip.tokenizer import HFTokenizer

    return HFTokenizer(str(src), context_length=text_cfg.get("context_length", 77),
                       tokenizer_mode=text_cfg.get("tokenizer_mode"), **(text_cfg.get("tokenizer_kwargs") or {}))


def main(argv: list[str] | None = None) -> int:
    """``mvkit export-encoder MODEL --out DIR [--hf-dir DIR] [--weights FILE] [--seed N]``."""
    ap = argparse.ArgumentParser(prog="mvkit export-encoder", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="open_clip model name (e.g. xlm-roberta-base-ViT-B-32) or config JSON")
    ap.add_argument("--out", required=True, help="the folder to write (must not exist)")
    ap.add_argument("--hf-dir", default=None, help="HF text tower: folder with its config.json + tokenizer files")
    ap.add_argument("--weights", default=None, help="open_clip checkpoint of the whole model (default: random)")
    ap.add_argument("--seed", type=int, default=None, help="seed of random weights (default 0)")
    a = ap.parse_args(argv)
    try:
        out = export_encoder(a.model, a.out, weights=a.weights, hf_dir=a.hf_dir, seed=a.seed)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as e:
        print(f"mvkit export-encoder: {e}", file=sys.stderr)
        return 2
    print(f"{out}: open_clip local-dir folder, checked offline; use it as "
          f"create_encoder('local-dir:{out}') or text_model='local-dir:{out}'")
    return 0
