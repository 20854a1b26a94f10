"""``mvkit export-encoder``: a multilingual (XLM-R-style) tower as a local-dir: folder, used offline.

The source is what a user copies from a machine with network: an open_clip config whose text
tower names the hub model ``xlm-roberta-base``, and that model's config + tokenizer files
(here a tiny XLM-R written offline). The exported folder must load with the hub switched off
and unreachable, give the same weights as the export built, survive being moved, and the three
traps of hand-made folders must each give a clear error.
"""
from __future__ import annotations

import json
import shutil

import pytest
import torch

pytest.importorskip("transformers")

from mvkit.features import hub
from mvkit.features.encoders import create_encoder
from mvkit.features.export import export_encoder, main
from mvkit.features.local_dir import check_local_dir

from .conftest import tiny_xlmr_clip_config, write_tiny_xlmr


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("xlmr_src")
    write_tiny_xlmr(root / "xlm-roberta-base")
    (root / "tiny-xlmr-clip.json").write_text(json.dumps(tiny_xlmr_clip_config("xlm-roberta-base")))
    return root


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports") / "xlmr"
    assert main([str(source / "tiny-xlmr-clip.json"), "--hf-dir", str(source / "xlm-roberta-base"),
                 "--out", str(out), "--seed", "3"]) == 0
    return out


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_export_lays_out_the_folder_without_the_traps(exported):
    names = {p.name for p in exported.iterdir()}
    assert {"open_clip_config.json", "open_clip_model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "hf", "mvkit_export.json"} <= names
    assert "config.json" not in names and (exported / "hf" / "config.json").is_file()
    cfg = json.loads((exported / "open_clip_config.json").read_text())
    assert cfg["model_cfg"]["text_cfg"]["hf_model_name"] == str(exported / "hf")
    marker = json.loads((exported / "mvkit_export.json").read_text())
    assert marker["init_seed"] == 3 and marker["weights"] is None and len(marker["weights_sha256"]) == 64
    assert check_local_dir(exported) is None


def test_exported_tower_loads_offline_as_text_model_with_its_weights(exported, offline):
    marker = json.loads((exported / "mvkit_export.json").read_text())
    enc = create_encoder("mvkit-tiny", text_model=f"local-dir:{exported}", device="cpu")
    assert enc.text_dim == 16 and enc.random_parts == () and "init_seed" not in enc.provenance()
    tower_hash = create_encoder(f"local-dir:{exported}", device="cpu").weights_sha256
    assert tower_hash == marker["weights_sha256"]
    toks = enc.tokenize(["ein roter Ball", "लाल गेंद"], "de")
    assert toks[:, 0].tolist() == [0, 0] and (toks[0, :5] != 3).all()       # <s> first, no <unk>
    feats = enc.encode_text(["ein roter Ball", "लाल गेंद", "ein roter Ball"], "de")
    assert feats.shape == (3, 16) and torch.equal(feats[0], feats[2])
    # the fine-tunable copy is the same tower
    assert torch.allclose(enc.text_module()(toks), feats[:2], atol=1e-5)


def test_moved_folder_still_loads(exported, tmp_path, offline):
    want = json.loads((exported / "mvkit_export.json").read_text())["weights_sha256"]
    moved = tmp_path / "elsewhere"
    shutil.copytree(exported, moved)
    hidden = exported.with_name("hidden")
    exported.rename(hidden)                      # the recorded absolute hf/ path is gone
    try:
        assert check_local_dir(moved)["hf_model_name"] == str((moved / "hf").resolve())
        assert create_encoder(f"local-dir:{moved}", device="cpu").weights_sha256 == want
    finally:
        hidden.rename(exported)


def test_weights_file_reexports_the_same_weights(exported, source, tmp_path, offline):
    out = export_encoder(str(source / "tiny-xlmr-clip.json"), tmp_path / "again",
                         weights=exported / "open_clip_model.safetensors", hf_dir=source / "xlm-roberta-base")
    a, b = (json.loads((d / "mvkit_export.json").read_text()) for d in (exported, out))
    assert a["weights_sha256"] == b["weights_sha256"] and b["init_seed"] is None
    other = export_encoder(str(source / "tiny-xlmr-clip.json"), tmp_path / "seed4", seed=4,
                           hf_dir=source / "xlm-roberta-base")
    assert json.loads((other / "mvkit_export.json").read_text())["weights_sha256"] != a["weights_sha256"]


def test_hand_made_folders_name_their_trap(exported, tmp_path, offline, capsys):
    def variant(name, drop=(), add=()):
        d = tmp_path / name
        shutil.copytree(exported, d)
        for f in drop:
            (d / f).unlink()
        for src, dst in add:
            shutil.copy2(d / src, d / dst)
        return d

    no_tok = variant("no_tok", drop=("tokenizer.json", "tokenizer_config.json"))
    with pytest.raises(ValueError, match="tokenizer files at the folder root"):
        create_encoder("mvkit-tiny", text_model=f"local-dir:{no_tok}", device="cpu")
    cfg_root = variant("cfg_root", add=(("hf/config.json", "config.json"),))
    with pytest.raises(ValueError, match="config.json is at the folder root"):
        create_encoder("mvkit-tiny", text_model=f"local-dir:{cfg_root}", device="cpu")
    no_w = variant("no_weights", drop=("open_clip_model.safetensors",))
    with pytest.raises(ValueError, match="no open_clip weights file"):
        create_encoder("mvkit-tiny", text_model=f"local-dir:{no_w}", device="cpu")
    with pytest.raises(FileNotFoundError, match="open_clip_config.json: missing"):
        check_local_dir(variant("no_cfg", drop=("open_clip_config.json",)))
    assert main([str(tmp_path / "nope.json"), "--out", str(exported)]) == 2
    assert "exists" in capsys.readouterr().err
