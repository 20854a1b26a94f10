"""Real models by parameters only: a random CLIP and a local multilingual tower, offline.

Every part of a run -- extraction, head training, text fine-tuning (``text_encoder="tower"``),
the paper objectives, the multilingual store, a rebuild in a new process -- must use the one
encoder of ``open_data`` (the same weights hash, the same text tower), and the same weights
given as a file must find the same store. The small models here are built offline: an
open_clip CLIP with random (seeded) weights and an XLM-R-style tower exported with
``mvkit export-encoder`` whose tokenizer is mvkit-tiny's 16-language BPE. The slow test runs
notebooks 00 and 03 themselves through nbclient with the parameters injected after their
``parameters`` cell (papermill's convention), with ViT-B-32 and random weights.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

pytest.importorskip("transformers")

from mvkit import notebook as nb
from mvkit.backbone import ASSET_DIR

TINY_CLIP = {"embed_dim": 24,
             "vision_cfg": {"image_size": 32, "patch_size": 16, "width": 32, "head_width": 16, "layers": 1},
             "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1}}
REPO = Path(__file__).resolve().parents[2]


def write_world_tower(root: Path, embed_dim: int = 24) -> Path:
    """An XLM-R-style multilingual text tower as a local-dir: folder, made offline: the HF side is
    a tiny XLM-R config with mvkit-tiny's tokenizer files (a snapshot of an HF model holds the
    same two kinds of file), exported with random weights from seed 0."""
    import transformers

    from mvkit.features.export import export_encoder

    src = root / "xlm-roberta-base"
    src.mkdir(parents=True, exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(ASSET_DIR / f, src / f)
    transformers.XLMRobertaConfig(vocab_size=4096, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=40, pad_token_id=0,
                                  bos_token_id=2, eos_token_id=3).save_pretrained(src)
    cfg = {"embed_dim": embed_dim, "vision_cfg": TINY_CLIP["vision_cfg"],
           "text_cfg": {"hf_model_name": "xlm-roberta-base", "hf_tokenizer_name": "xlm-roberta-base",
                        "hf_proj_type": "linear", "hf_pooler_type": "mean_pooler", "context_length": 32}}
    (root / "tiny-world-xlmr.json").write_text(json.dumps(cfg))
    return export_encoder(str(root / "tiny-world-xlmr.json"), root / "tower", hf_dir=src, seed=0)


@pytest.fixture(scope="module")
def tower() -> str:
    """The tower, exported once under MVKIT_HOME: stores record where their tower lives, and a
    store found again in a later session must be able to rebuild its encoder from that record."""
    from mvkit.paths import mvkit_home

    root = mvkit_home() / "test-towers" / "world-xlmr"
    if not (root / "tower" / "mvkit_export.json").is_file():
        shutil.rmtree(root / "tower", ignore_errors=True)
        write_world_tower(root)
    return f"local-dir:{root / 'tower'}"


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> str:
    import open_clip

    d = tmp_path_factory.mktemp("clip_cfg")
    (d / "mvkit-test-rclip.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(d / "mvkit-test-rclip.json")
    return "mvkit-test-rclip"


@pytest.fixture
def offline(monkeypatch):
    from mvkit.features import hub

    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_every_part_of_a_run_uses_the_one_encoder(tiny_clip, tower, offline, tmp_path, monkeypatch):
    import mvkit
    from mvkit.experiments import crosslingual as xl
    from mvkit.features import extract
    from mvkit.features.encoders import encoder_for_store
    from mvkit.io import read_json
    from mvkit.train import TrainConfig, fit, load_model

    mvkit.setup(0)
    params = {"encoder": tiny_clip, "pretrained": None, "text_model": tower, "ml_text_model": tower,
              "n_videos": 24, "num_frames": 4}
    data = nb.open_data(params, progress=False)
    enc, store, ds = data.encoder, data.store, data.dataset
    sha = enc.weights_sha256
    assert enc.text_name == tower and enc.random_parts == ("video",)       # the tower's weights are its file's
    # extraction: video and every language's captions from these weights and this tower
    prov = store.provenance
    assert prov["weights_sha256"] == sha and prov["encoder_provenance"]["text_model"] == tower
    assert all(store.text_provenance(l)["weights_sha256"] == sha for l in store.text_langs)
    assert len(store.text_langs) == 16
    # head training on the cached features
    quick = {"epochs": 1, "bootstrap": 0, "batch_size": 64}
    rec = nb.train(nb.train_config(ds, store, text_encoder="frozen", **quick), ds, store, encoder=enc, progress=False)
    assert rec.data["store_provenance"]["weights_sha256"] == sha
    # text fine-tuning: the tower itself, from these weights (not the CLIP's own text tower)
    out = tmp_path / "tower_run"
    rec = nb.train(nb.train_config(ds, store, text_encoder="tower", out=out, **quick), ds, store, encoder=enc,
                   progress=False)
    spec = rec.protocol["text_encoder"]
    assert spec["name"] == "tower" and spec["encoder"]["weights_sha256"] == sha
    assert spec["encoder"]["text_model"] == tower and spec["tokenizer"] == enc.tokenizer_identity
    start = dict(enc.text_clip.text.named_parameters())
    tuned = load_model(out / "best.safetensors", encoder=enc).text.module
    assert any(not torch.equal(p, start[n.split("module.text.", 1)[-1]]) for n, p in tuned.named_parameters()
               if n.split("module.text.", 1)[-1] in start)                # fine-tuned from the tower's weights
    assert load_model(out / "best.safetensors").text.module.spec()["encoder"]["weights_sha256"] == sha  # rebuilt
    # a paper objective that encodes extra captions (RUDDER probes, frozen text side) uses the same encoder
    cfg = TrainConfig(data=str(ds.root), store=str(store.path), head="fusion", loss="partial_order",
                      text_encoder="frozen", langs=["en"], kinds=["human"], epochs=1, bootstrap=0, batch_size=64)
    fit(cfg, dataset=ds, store=store, encoder=enc)
    assert read_json(Path(store.path) / "rudder_probes" / "probe_meta.json")["weights"] == sha
    # MKTVR's dual path fine-tunes the multilingual tower (here the same local tower)
    dual = next(v for v in xl.main_variants(["en", "de"], ["dual_path"], ml_text_model=tower) if v.name == "dual_path")
    rec = nb.train(TrainConfig(**{**vars(xl.base_config(1, bootstrap=0, batch_size=64)), "data": str(ds.root),
                                  "store": str(store.path), **dual.overrides}), ds, store, encoder=enc, progress=False)
    assert rec.protocol["text_encoder"]["encoder"]["text_model"] == tower
    assert rec.protocol["text_encoder"]["encoder"]["weights_sha256"] == sha
    # the multilingual store shares the video features; a new process rebuilds the same encoder
    assert data.ml_encoder.weights_sha256 == sha and data.ml_store.path == store.path
    mvkit.setup(5)                                   # another seed by now: the store's init_seed decides
    assert encoder_for_store(store).weights_sha256 == sha
    mvkit.setup(0)
    # the same weights given as a file find the same store: nothing is decoded or encoded again
    weights = tmp_path / "clip.safetensors"
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in enc.clip.state_dict().items()}, str(weights))
    monkeypatch.setattr(extract, "extract_features", lambda *a, **k: pytest.fail("re-extracted video"))
    monkeypatch.setattr(extract, "extract_text_features", lambda *a, **k: pytest.fail("re-encoded text"))
    again = nb.open_data({**params, "pretrained": str(weights)}, progress=False)
    assert again.store.path == store.path and again.encoder.weights_sha256 == sha
    assert again.encoder.random_parts == ()


@pytest.mark.slow
def test_notebooks_00_and_03_with_random_vit_b_32_and_a_local_tower(tower, offline, tmp_path):
    """The notebooks themselves, parameters only: ViT-B-32 with random weights for the video, the
    local multilingual tower for every caption and as the multilingual tower of notebook 03."""
    import nbformat
    from nbclient import NotebookClient

    from mvkit.data.synth import ensure_world
    from mvkit.features.encoders import create_encoder
    from mvkit.features.extract import default_store_dir
    from mvkit.features.store import open_store

    data = {"encoder": "ViT-B-32", "pretrained": None, "text_model": tower, "ml_text_model": tower,
            "n_videos": 24, "num_frames": 4}
    for name in ("00_quickstart.ipynb", "03_cross_lingual_ablations.ipynb"):
        book = nbformat.read(REPO / "notebooks" / name, as_version=4)
        at = next(i for i, c in enumerate(book.cells) if "parameters" in c.metadata.get("tags", []))
        book.cells.insert(at + 1, nbformat.v4.new_code_cell(f"DATA = {data!r}",
                                                            metadata={"tags": ["injected-parameters"]}))
        NotebookClient(book, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
        shown = "".join(o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.outputs)
        assert "Traceback" not in shown
    # the notebooks' store holds this very encoder's features (seed 0, the notebooks' setup seed)
    enc = create_encoder("ViT-B-32", None, text_model=tower, device="cpu", seed=0)
    store = open_store(default_store_dir(ensure_world(24, seed=0), enc, 4))
    assert store.provenance["weights_sha256"] == enc.weights_sha256 and len(store.video_ids) == 24
