"""`mvkit train` end to end on a tiny store written to disk with the real FeatureStore writer."""
from __future__ import annotations

import json

import numpy as np

import mvkit.train.trainer as trainer_mod
from mvkit.cli import main as mvkit_main
from mvkit.features.store import StoreWriter, write_text_features

from .conftest import make_world


def _write_store(store, path):
    ids = sorted(store.video_ids)
    w = StoreWriter(path, {"encoder": "fake", "streams": store.dims}, [ids])
    w.write_shard(0, {v: store._frames[v] for v in ids}, {})
    assert w.finalize()
    for lang, (cids, arr) in store._text.items():
        write_text_features(path, lang, cids, arr, {"encoder": "fake"})


def test_cli_train_smoke_and_resume(tmp_path, monkeypatch, capsys):
    ds, store = make_world(n_videos=40)
    _write_store(store, tmp_path / "store")
    real_open = trainer_mod._open
    # the dataset reader is another module's; the store is the real on-disk one
    monkeypatch.setattr(trainer_mod, "_open", lambda p, what: ds if what == "data" else real_open(p, what))
    out = tmp_path / "run"
    argv = ["train", "--data", "world", "--store", str(tmp_path / "store"), "--head", "mean",
            "--loss", "infonce", "--langs", "en,de", "--epochs", "2", "--batch-size", "8",
            "--bootstrap", "50", "--model-overrides", '{"embed_dim": 16}', "--out", str(out)]
    assert mvkit_main(argv) == 0
    printed = capsys.readouterr().out
    assert "selected epoch" in printed and "en    t2v" in printed
    rec = json.loads((out / "run.json").read_text())
    assert rec["config"]["langs"] == ["en", "de"] and rec["selection"]["split"] == "val"
    assert rec["data"]["train"]["captions"] == 24 * 4
    assert (out / "best.safetensors").exists() and (out / "last.safetensors").exists()
    # resuming a finished run trains nothing more and reports the same numbers
    assert mvkit_main(argv + ["--resume"]) == 0
    rec2 = json.loads((out / "run.json").read_text())
    assert rec2["results"] == rec["results"] and len(rec2["selection"]["history"]) == 2
    assert np.isfinite(rec["timings"]["mean_epoch_train_seconds"])


def test_cli_rejects_bad_json(tmp_path):
    import pytest
    with pytest.raises(SystemExit, match="--loss-kwargs is not valid JSON"):
        mvkit_main(["train", "--data", "x", "--store", "y", "--out", str(tmp_path), "--loss-kwargs", "{bad"])


def test_cli_write_problems_are_one_line_and_out_is_checked_before_training(tmp_path, monkeypatch, capsys):
    import errno

    ds, store = make_world(n_videos=40)
    _write_store(store, tmp_path / "store")
    real_open = trainer_mod._open
    monkeypatch.setattr(trainer_mod, "_open", lambda p, what: ds if what == "data" else real_open(p, what))
    epochs = []
    monkeypatch.setattr(trainer_mod, "evaluate_split", lambda *a, **k: epochs.append(1) or {})
    (tmp_path / "a-file").write_text("")
    argv = ["train", "--data", "world", "--store", str(tmp_path / "store"), "--epochs", "1", "--batch-size", "8",
            "--langs", "en", "--out", str(tmp_path / "a-file" / "run")]
    assert mvkit_main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mvkit train: {tmp_path / 'a-file'}") and err.count("\n") == 1 and epochs == []
    monkeypatch.undo()
    monkeypatch.setattr(trainer_mod, "_open", lambda p, what: ds if what == "data" else real_open(p, what))

    def full_disk(path, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr("mvkit.train.checkpoint.save_training_state", full_disk)   # what every epoch end calls
    argv[-1] = str(tmp_path / "run")
    assert mvkit_main(argv) == 1
    assert capsys.readouterr().err == f"mvkit train: {tmp_path / 'run' / 'last.safetensors'}: no space left on device\n"
