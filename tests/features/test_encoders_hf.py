"""The Hugging Face text-tower path (xlm-roberta-style) built offline from a tiny local config.

HF towers call ``AutoConfig.from_pretrained`` even for random init, so the test writes a
tiny XLM-R config and a small ``PreTrainedTokenizerFast`` into a folder and points
``hf_model_name`` / ``hf_tokenizer_name`` at it.
"""
from __future__ import annotations

import json

import numpy as np
import open_clip
import pytest
import torch

transformers = pytest.importorskip("transformers")

from mvkit.features.encoders import create_encoder

from .conftest import tiny_xlmr_clip_config, write_tiny_xlmr


@pytest.fixture(scope="module")
def xlmr_names(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_xlmr")
    write_tiny_xlmr(folder)
    (folder / "mvkit-test-xlmr.json").write_text(json.dumps(tiny_xlmr_clip_config(str(folder))))
    open_clip.add_model_config(folder / "mvkit-test-xlmr.json")
    return "mvkit-test-xlmr"


def test_hf_text_tower_builds_offline_and_pads_with_its_pad_id(xlmr_names):
    torch.manual_seed(0)
    enc = create_encoder(xlmr_names, None, device="cpu")
    assert enc.text_dim == 16 and enc.streams["appearance"] == 16
    assert not enc.text_clip.training
    toks = enc.tokenize(["a red ball", "लाल गेंद", "சிவப்பு பந்து"], "hi", full_context=True)
    assert toks.shape == (3, 12)
    short = enc.tokenize(["a red ball", "लाल गेंद", "சிவப்பு பந்து"], "hi")
    n = short.shape[1]
    assert n < 12 and torch.equal(short, toks[:, :n]) and (toks[:, n:] == 1).all()
    assert toks[0, :5].tolist() == [0, enc.tokenizer.tokenizer.convert_tokens_to_ids("a"),
                                    enc.tokenizer.tokenizer.convert_tokens_to_ids("red"),
                                    enc.tokenizer.tokenizer.convert_tokens_to_ids("ball"), 2]
    assert (toks[0, 5:] == 1).all()                 # XLM-R pad id, masked by the tower
    unk = enc.tokenizer.tokenizer.unk_token_id
    assert (toks != unk).all()
    # mean pooling over the attention mask: a longer padding does not change the feature
    ref = enc.encode_text(["a red ball"], "en")
    longer = torch.cat([toks[:1], torch.ones(1, 6, dtype=torch.long)], dim=1)
    assert torch.allclose(enc.text_clip.encode_text(longer), ref, atol=1e-5)


def test_hf_text_module_matches_and_separate_text_model(xlmr_names):
    torch.manual_seed(0)
    enc = create_encoder(xlmr_names, None, device="cpu")
    texts = ["ein roter Ball", "红 球"]
    tm = enc.text_module()
    assert torch.allclose(tm(enc.tokenize(texts, "de")), enc.encode_text(texts, "de"), atol=1e-5)
    # frames from one open_clip model, text from another (the multilingual-tower recipe)
    both = create_encoder(xlmr_names, None, text_model=xlmr_names, device="cpu")
    assert both.provenance()["text_model"] == xlmr_names
    frames = torch.zeros(1, 2, 3, 32, 32)
    assert both.encode_batch(frames, [None])[0]["appearance"].shape == (2, 16)
    assert np.isfinite(both.encode_text(texts, "de").numpy()).all()
