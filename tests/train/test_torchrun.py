"""Scale-out: ``torchrun --nproc_per_node 2`` (CPU, gloo) is the same run as one process.

Same global batches (the incomplete last one kept), same learning-rate schedule, same selected
epoch and the same metrics within float tolerance, for ``mvkit train``; the same store for a
sharded ``mvkit extract``. Each run is a real command in a fresh process, as a user types it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], ranks: int, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "mvkit"] if ranks == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}", "-m", "mvkit"]
    out = subprocess.run(launch + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                         check=False)
    assert out.returncode == 0, out.stderr[-4000:]
    return out


@pytest.mark.slow
def test_two_rank_training_is_the_one_process_run(smoke, tmp_path):
    dataset, store, _ = smoke
    common = ["train", "--data", str(dataset.root), "--store", str(store.path), "--head", "fusion",
              "--loss", "infonce", "--langs", "en", "--kinds", "human", "--epochs", "3", "--batch-size", "64",
              "--text-encoder", "bag", "--lr", "2e-3", "--bootstrap", "50", "--threads", "1", "--seed", "0"]
    _run([*common, "--out", str(tmp_path / "one")], 1, tmp_path)
    _run([*common, "--out", str(tmp_path / "two")], 2, tmp_path)
    one, two = (json.loads((tmp_path / d / "run.json").read_text()) for d in ("one", "two"))
    assert one["environment"]["world_size"] == 1 and two["environment"]["world_size"] == 2
    n_train = one["data"]["train"]["captions"]
    steps = one["timings"]["steps_per_epoch"]
    assert n_train % 64 and steps == -(-n_train // 64) == two["timings"]["steps_per_epoch"]  # last batch kept
    h1, h2 = one["selection"]["history"], two["selection"]["history"]
    assert [h["lr"] for h in h1] == [h["lr"] for h in h2]                                    # same schedule
    np.testing.assert_allclose([h["loss"] for h in h1], [h["loss"] for h in h2], rtol=1e-4)
    np.testing.assert_allclose([h["val_score"] for h in h1], [h["val_score"] for h in h2], atol=1e-3)
    assert one["selection"]["selected_epoch"] == two["selection"]["selected_epoch"]
    for split in ("results", "val_results"):
        for lang, res in one[split].items():
            for d in ("t2v", "v2t"):
                for m, v in res[d].items():
                    assert two[split][lang][d][m] == pytest.approx(v, abs=1e-3), (split, lang, d, m)
            for d, ci in res["ci"].items():
                for m, bounds in ci.items():
                    assert two[split][lang]["ci"][d][m] == pytest.approx(bounds, abs=1e-3), (split, lang, d, m)


@pytest.mark.slow
def test_two_rank_extraction_is_the_one_process_store(tmp_path):
    from mvkit.data.synth import generate_world
    from mvkit.features.store import open_store

    world = generate_world(tmp_path / "world", n_videos=12, languages=["en", "de"], workers=1)
    common = ["extract", "--data", str(world), "--workers", "0", "--videos-per-shard", "3", "--frames", "4"]
    _run([*common, "--out", str(tmp_path / "one")], 1, tmp_path)
    two_out = _run([*common, "--out", str(tmp_path / "two")], 2, tmp_path)
    assert two_out.stdout.count("12 videos") == 1          # rank 0 alone finishes the store
    one, two = open_store(tmp_path / "one"), open_store(tmp_path / "two")
    assert one.video_ids == two.video_ids and len(one.video_ids) == 12
    assert one.provenance == two.provenance and one.text_langs == two.text_langs == ["de", "en"]
    for s in one.streams:
        a, ma = one.stacked(one.video_ids, s)
        b, mb = two.stacked(two.video_ids, s)
        np.testing.assert_array_equal(ma, mb)
        np.testing.assert_allclose(a, b, atol=1e-5)
    for lang in one.text_langs:
        (ia, fa), (ib, fb) = one.text_features(lang), two.text_features(lang)
        assert ia == ib
        np.testing.assert_allclose(fa, fb, atol=1e-5)
    shards = sorted(p.name for p in (tmp_path / "two" / "shards").iterdir())
    assert len(shards) == 4                                 # two per rank
