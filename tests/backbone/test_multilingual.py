"""The shipped towers on held-out data: mvkit-tiny's English tower retrieves English zero-shot and
nothing else; mvkit-tiny-ml, the multilingual text tower, loads by name into mvkit-tiny's space
(zero-shot retrieval with mvkit-tiny's video streams works in every language), and its
distillation is deterministic."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mvkit.backbone import multilingual as ml
from mvkit.backbone import pretrain_ml
from mvkit.features.encoders import create_encoder


def _pooled(store, vids, stream):
    arr, mask = store.stacked(vids, stream)
    x = torch.from_numpy(np.asarray(arr, np.float32))
    if stream == "appearance":
        x = F.normalize(x, dim=-1)
    m = torch.from_numpy(np.asarray(mask))
    return F.normalize((x * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp_min(1), dim=-1), m.any(1)


def _zero_shot_r1(encoder, dataset, store, lang):
    """Zero-shot fused text->video R@1 (%) on the test split: no training on this world."""
    from mvkit.metrics import ranks

    test = dataset.subset(split="test", langs=[lang], kinds=["human"])
    vids = [v.video_id for v in test.videos]
    (app, _), (mot, _), (aud, has) = (_pooled(store, vids, s) for s in ("appearance", "motion", "audio"))
    t = F.normalize(encoder.encode_text([c.text for c in test.captions], lang), dim=-1)
    sim = t @ app.T + t @ mot.T + (t @ aud.T) * has[None, :].float()
    col = {v: i for i, v in enumerate(vids)}
    pos = torch.zeros_like(sim, dtype=torch.bool)
    pos[torch.arange(len(test.captions)), torch.tensor([col[c.video_id] for c in test.captions])] = True
    return float((ranks(sim, pos) == 1).float().mean() * 100), 100 / len(vids)


def test_shipped_tower_loads_by_name_into_mvkit_tinys_space(smoke):
    dataset, store, tiny = smoke
    enc = create_encoder("mvkit-tiny", text_model=ml.ML_NAME, device="cpu")
    assert enc.text_dim == tiny.text_dim and enc.provenance()["text_model"] == ml.ML_NAME
    assert enc.video_weights_sha256 == tiny.video_weights_sha256 != None      # same video side
    assert enc.weights_sha256 != tiny.weights_sha256 and enc.tokenizer_identity == tiny.tokenizer_identity
    cfg = ml.read_json(ml.ML_DIR / ml.ML_CONFIG)
    assert cfg["teacher"]["weights_sha256"] == tiny.weights_sha256      # distilled from the shipped tiny
    langs = ("de", "fr", "ru", "hi", "sw", "ta")
    r1_ml = {lang: _zero_shot_r1(enc, dataset, store, lang)[0] for lang in langs}
    r1_en = {lang: _zero_shot_r1(tiny, dataset, store, lang)[0] for lang in langs}
    chance = _zero_shot_r1(tiny, dataset, store, "de")[1]
    assert all(v > 4 * chance for v in r1_ml.values()), r1_ml
    assert np.mean(list(r1_en.values())) < 2 * chance, r1_en          # English-only tower: chance
    en_ml, chance = _zero_shot_r1(enc, dataset, store, "en")
    en_tiny, _ = _zero_shot_r1(tiny, dataset, store, "en")       # the shipped English tower, held out
    assert en_ml > 4 * chance and en_tiny > 5 * chance


def test_distillation_is_deterministic_and_reloads(smoke, tmp_path):
    dataset, _, _ = smoke
    args = ["--world", str(dataset.root), "--max-videos", "60", "--epochs", "2", "--no-eval", "--threads", "1"]
    assert pretrain_ml.main(args + ["--out", str(tmp_path / "a")]) == 0
    assert pretrain_ml.main(args + ["--out", str(tmp_path / "b")]) == 0
    a = create_encoder("mvkit-tiny", text_model=f"local-dir:{tmp_path / 'a'}", device="cpu")
    b = create_encoder("mvkit-tiny", text_model=f"local-dir:{tmp_path / 'b'}", device="cpu")
    assert a.weights_sha256 == b.weights_sha256
    log = ml.read_json(tmp_path / "a" / "training_log.json")
    assert [e["epoch"] for e in log["epochs"]] == [1, 2] and log["epochs"][1]["mse_over_var"] < log["epochs"][0]["mse_over_var"]
    assert log["pairs"] > 0 and "de" in log["langs"]
    with pytest.raises(FileNotFoundError, match="mvkit pretrain-ml"):
        ml.load_multilingual(tmp_path)
