"""The text-side registry: frozen / tower / bag by name, specs checked on reload, bad languages refused."""
from __future__ import annotations

import pytest
import torch

from mvkit.data.records import CaptionRecord
from mvkit.models.text_encoders import (
    TEXT_ENCODERS,
    create_text_encoder,
    rebuild_text_encoder,
    register_text_encoder,
)
from mvkit.train.data import tokenize_captions


def test_registry_names_and_frozen(tiny_encoder):
    assert {"frozen", "tower", "bag"} <= set(TEXT_ENCODERS)
    assert create_text_encoder("frozen") is None
    with pytest.raises(ValueError, match="unknown text encoder 'nope'"):
        create_text_encoder("nope", tiny_encoder)
    with pytest.raises(ValueError, match="pass encoder="):
        create_text_encoder("bag")
    with pytest.raises(ValueError, match="already registered"):
        register_text_encoder("bag")(lambda encoder: None)


def test_tower_equals_the_frozen_tower_until_trained_and_bag_starts_from_its_embeddings(tiny_encoder):
    texts = ["a red circle moves left", "ein blaues Quadrat"]
    tower = create_text_encoder("tower", tiny_encoder)
    tok = tower.tokenize(texts, "en")
    with torch.no_grad():
        assert torch.allclose(tower(tok), tiny_encoder.encode_text(texts, "en"), atol=1e-5)
    assert tower.lr_scale == 0.1 and tower.spec()["encoder"]["weights_sha256"] == tiny_encoder.weights_sha256
    bag = create_text_encoder("bag", tiny_encoder, seed=0)
    assert torch.equal(bag.module.unigrams.weight, tiny_encoder.token_embeddings()) and bag.lr_scale == 1.0
    assert bag.out_dim == tiny_encoder.text_dim and bag.spec()["kwargs"]["seed"] == 0


def test_tower_of_another_text_model_and_rebuild_checks(tiny_encoder):
    ml = create_text_encoder("tower", tiny_encoder, text_model="mvkit-tiny-ml")
    assert ml.spec()["encoder"]["text_model"] == "mvkit-tiny-ml"
    assert ml.spec()["encoder"]["weights_sha256"] != tiny_encoder.weights_sha256
    again = rebuild_text_encoder(ml.spec(), tiny_encoder, "ckpt")       # same base: rebuilt and checked
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), ml.state_dict().values()))
    from mvkit.features.encoders import create_encoder

    other = create_encoder("mvkit-tiny", "random", device="cpu")
    with pytest.raises(ValueError, match="trained from encoder"):
        rebuild_text_encoder(create_text_encoder("bag", tiny_encoder).spec(), other, "ckpt")


def test_a_language_the_tokenizer_cannot_write_is_named(tiny_encoder):
    caps = [CaptionRecord(f"c{i}", "v", "am", "ሰላም ዓለም ቀይ ክብ", "human") for i in range(4)] + \
           [CaptionRecord("e", "v", "en", "a red circle", "human")]
    with pytest.raises(ValueError, match="cannot represent .am.: 4 of its 4 captions are mostly unknown"):
        tokenize_captions(caps, tiny_encoder.text_tokenizer(), "toy")
    tokens, lengths = tokenize_captions(caps[-1:], tiny_encoder.text_tokenizer())
    assert tokens.shape == (1, int(lengths[0])) and tokens[0, 0] == 2 and tokens[0, -1] == 3   # [BOS] .. [EOS]
