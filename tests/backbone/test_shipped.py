"""The shipped mvkit-tiny loads through open_clip's normal path and serves every language."""
from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch

from mvkit import backbone as bb
from mvkit.features.encoders import create_encoder, state_dict_sha256

# one caption per script family, as the embedded world writes them
SAMPLES = {
    "en": "a big red striped square moves left fast",
    "hi": "एक बड़ा लाल धारीदार वर्ग तेज़ी से बाईं ओर जाता है",
    "ta": "ஒரு பெரிய சிவப்பு கோடிட்ட சதுரம் வேகமாக இடதுபுறம் நகர்கிறது",
    "zh": "一个红色条纹的大正方形快速向左移动",
    "ja": "大きな赤い縞模様の四角が速く左に動く",
}


@pytest.fixture(scope="module")
def enc():
    return create_encoder("mvkit-tiny", device="cpu")


def test_loads_through_open_clips_normal_path(enc):
    bb.register_config()
    assert "mvkit-tiny" in open_clip.list_models()
    clip = open_clip.create_model("mvkit-tiny", pretrained=str(bb.ASSET_DIR / bb.CLIP_WEIGHTS))
    assert state_dict_sha256(clip) == state_dict_sha256(enc.clip)
    # and as a local-dir folder, the way open_clip users share checkpoints
    same = open_clip.create_model(f"local-dir:{bb.ASSET_DIR}")
    assert state_dict_sha256(same) == state_dict_sha256(enc.clip)
    assert not enc.clip.training and not enc.towers.training


def test_documented_dims_and_provenance(enc):
    assert enc.streams == {"appearance": 128, "motion": 128, "audio": 128} and enc.text_dim == 128
    assert enc.frame_transform.size == 64
    p = enc.provenance()
    assert p["encoder"] == "mvkit-tiny" and p["weights_sha256"] == enc.weights_sha256
    assert p["files"] == [bb.CLIP_WEIGHTS, bb.STREAM_WEIGHTS]
    frames = torch.stack([enc.frame_transform(np.zeros((8, 64, 64, 3), np.uint8))])
    out = enc.encode_batch(frames, [np.full((64, 300), -8.0, np.float32)])[0]
    assert {k: v.shape for k, v in out.items()} == {"appearance": (8, 128), "motion": (7, 128),
                                                    "audio": (8, 128)}
    tokens = enc.tokenize(list(SAMPLES.values()), "en")
    assert torch.allclose(enc.text_module()(tokens), enc.encode_text(list(SAMPLES.values()), "en"),
                          atol=1e-5)


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_tokenizer_serves_every_script_without_unk_floods(enc, lang):
    tok = enc.tokenizer
    ids = tok.encode_ids([SAMPLES[lang]])[0]
    unk = tok.tokenizer.token_to_id("[UNK]")
    assert ids.count(unk) <= 1
    assert len(ids) <= tok.context_length
    # a learned vocabulary, not bytes: far fewer tokens than UTF-8 bytes
    assert len(ids) < len(SAMPLES[lang].encode("utf-8")) / 2
