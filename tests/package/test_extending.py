"""Extending mvkit from outside the package, as a user's own file would: a toy (sim, pos) loss and a
toy head, each one file plus one registry line, trained by name through `mvkit train`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

USER_FILE = '''
import torch
from torch import nn
from torch.nn import functional as F

from mvkit.losses import RetrievalLoss, check_sim_pos, register_loss
from mvkit.models.heads import VideoHead, register_head


@register_loss("toy_margin")
class ToyMargin(RetrievalLoss):
    """Mean over positives of relu(margin - s_pos + mean of the row's negatives)."""
    inputs = ("sim", "pos")

    def __init__(self, margin: float = 0.3):
        super().__init__()
        self.margin = margin

    def forward(self, sim, pos):
        sim, pos = check_sim_pos(sim, pos)
        neg = (sim * ~pos).sum(1, keepdim=True) / (~pos).sum(1, keepdim=True).clamp_min(1)
        return F.relu(self.margin - sim + neg)[pos].mean()


@register_head("toy_max")
class ToyMax(VideoHead):
    """Max pooling over frames, then a linear map."""

    def __init__(self, in_dim, embed_dim, stream="appearance"):
        super().__init__()
        self.streams = (stream,)
        self.proj = nn.Linear(in_dim, embed_dim)

    def embed_video(self, feats, masks):
        x = feats[self.streams[0]].masked_fill(~masks[self.streams[0]][..., None], -1e4)
        return {"v": F.normalize(self.proj(x.amax(1)), dim=-1)}
'''
CONFIG = {"name": "toy", "embed_dim": 32, "spaces": {"main": {"head": "toy_max", "stream": "appearance"}}}


@pytest.fixture()
def user_files(tmp_path):
    (tmp_path / "my_ext.py").write_text(USER_FILE)
    (tmp_path / "toy.json").write_text(json.dumps(CONFIG))
    return tmp_path / "my_ext.py", tmp_path / "toy.json"


def _args(smoke, out, ext, cfg):
    dataset, store, _ = smoke
    return ["--data", str(dataset.root), "--store", str(store.path), "--head", str(cfg), "--loss", "toy_margin",
            "--langs", "en", "--epochs", "2", "--batch-size", "32", "--bootstrap", "0", "--threads", "1",
            "--out", str(out), "--plugin", str(ext)]


def test_toy_loss_and_head_train_by_name_in_a_fresh_process(smoke, user_files, tmp_path):
    ext, cfg = user_files
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "mvkit", "train", *_args(smoke, out, ext, cfg)], capture_output=True,
                          text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rec = json.loads((out / "run.json").read_text())
    assert rec["objective"] == {"objective": "contrastive", "loss": "toy_margin", "loss_kwargs": {}}
    assert rec["model_config"]["spaces"]["main"]["head"] == "toy_max"
    losses = [h["loss"] for h in rec["selection"]["history"]]
    assert losses[1] < losses[0]                                      # it learns
    chance = 100 / rec["results"]["en"]["n_videos"]
    assert rec["results"]["en"]["t2v"]["R10"] > 10 * chance / 2        # well above a random ranking


def test_toy_loss_and_head_in_process_then_unregistered(smoke, user_files, tmp_path):
    from mvkit.losses import LOSSES
    from mvkit.models.heads import HEADS
    from mvkit.train.cli import main

    ext, cfg = user_files
    try:
        assert main(_args(smoke, tmp_path / "run", ext, cfg)) == 0
        assert "toy_margin" in LOSSES and "toy_max" in HEADS
        from mvkit.train import create_objective

        assert create_objective("toy_margin").loss.margin == 0.3     # trainable by name, no objective written
    finally:
        LOSSES.pop("toy_margin", None)
        HEADS.pop("toy_max", None)
        sys.modules.pop("mvkit_plugin_my_ext", None)
