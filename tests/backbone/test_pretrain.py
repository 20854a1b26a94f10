"""The real pretraining entry point on a tiny generated world (CPU smoke, open_clip's habit)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mvkit.backbone.pretrain import main, recall_table
from mvkit.io import read_json


def test_recall_table_by_hand():
    # 3 queries, 3 videos; videos 0 and 1 are semantic twins for query 0
    sim = np.array([[0.2, 0.9, 0.1],     # own video 0 ranked 2nd, its twin first
                    [0.1, 0.8, 0.3],     # own video 1 first
                    [0.5, 0.4, 0.4]])    # own video 2 tied with video 1 -> pessimistic rank 3
    own = np.eye(3, dtype=bool)
    sem = own.copy()
    sem[0, 1] = True
    r = recall_table(sim, own, sem)
    assert r["R1"] == pytest.approx(100 / 3) and r["R5"] == 100.0
    assert r["MdR"] == 2.0
    assert r["semantic_R1"] == pytest.approx(200 / 3)
    assert r["ceiling_R1"] == pytest.approx(100 * (0.5 + 1 + 1) / 3)
    assert r["n_queries"] == 3


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory):
    from mvkit.data.synth import generate_world

    return generate_world(tmp_path_factory.mktemp("world") / "w", n_videos=24, seed=7, workers=1)


def test_pretrain_entry_point_writes_a_loadable_deterministic_backbone(tiny_world, tmp_path, monkeypatch):
    monkeypatch.setenv("MVKIT_HOME", str(tmp_path / "home"))
    argv = ["--world", str(tiny_world), "--eval-world", str(tiny_world), "--epochs", "1",
            "--batch-size", "8", "--vocab-size", "600", "--threads", "1"]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    assert main(argv + ["--out", str(tmp_path / "b"), "--no-eval"]) == 0      # reuses the decode cache
    a, b = tmp_path / "a", tmp_path / "b"
    assert (a / "open_clip_model.safetensors").read_bytes() == (b / "open_clip_model.safetensors").read_bytes()
    assert (a / "streams.safetensors").read_bytes() == (b / "streams.safetensors").read_bytes()
    log = read_json(a / "training_log.json")
    assert len(log["epochs"]) == 1 and np.isfinite(log["epochs"][0]["loss_fused"])
    rec = log["heldout"]["recall"]["en"]["fused"]
    assert 0 <= rec["R1"] <= rec["R5"] <= 100 and rec["ceiling_R1"] <= 100

    from mvkit.features.encoders import create_encoder

    enc = create_encoder(f"local-dir:{a}", device="cpu")
    assert enc.streams == {"appearance": 128, "motion": 128, "audio": 128}
    out = enc.encode_batch(torch.zeros(1, 8, 3, 64, 64), [np.full((64, 300), -8.0, np.float32)])[0]
    assert out["motion"].shape == (7, 128) and out["audio"].shape == (8, 128)
