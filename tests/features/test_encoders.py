"""create_encoder with open_clip models built offline (random weights), local files and folders."""
from __future__ import annotations

import json
import pickle
import re

import numpy as np
import open_clip
import pytest
import torch

from mvkit.features.encoders import (
    FrameTransform,
    create_encoder,
    log_mel_statistics,
    state_dict_sha256,
)

TINY_CLIP = {   # a classic open_clip CLIP (own text transformer, CLIP BPE tokenizer), tiny
    "embed_dim": 24,
    "vision_cfg": {"image_size": 32, "patch_size": 16, "width": 32, "head_width": 16, "layers": 1},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip_name(tmp_path_factory):
    d = tmp_path_factory.mktemp("oc_cfg")
    (d / "mvkit-test-clip.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(d / "mvkit-test-clip.json")
    return "mvkit-test-clip"


@pytest.fixture(scope="module")
def tiny_enc(tiny_clip_name):
    torch.manual_seed(0)
    return create_encoder(tiny_clip_name, None, device="cpu")


def _frames(b=2, t=3, size=32, seed=0):
    g = np.random.default_rng(seed)
    return g.integers(0, 256, (b, t, size, size, 3), dtype=np.uint8)


# ---------------------------------------------------------------- frame transform
def test_frame_transform_normalises_by_hand_and_pickles():
    ft = FrameTransform(4, mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 1.0))
    frames = np.full((2, 4, 4, 3), 255, dtype=np.uint8)
    frames[1] = 0
    x = ft(frames)
    assert x.shape == (2, 3, 4, 4) and x.dtype == torch.float32
    # (1 - 0.5)/0.5 = 1, (1 - .25)/.25 = 3, (1 - 0)/1 = 1 ; (0 - .5)/.5 = -1, -1, 0
    assert torch.allclose(x[0, :, 0, 0], torch.tensor([1.0, 3.0, 1.0]))
    assert torch.allclose(x[1, :, 0, 0], torch.tensor([-1.0, -1.0, 0.0]))
    ft2 = pickle.loads(pickle.dumps(ft))
    assert torch.equal(ft2(frames), x)


def test_frame_transform_resizes_shorter_side_and_centre_crops():
    ft = FrameTransform(8, mean=(0, 0, 0), std=(1, 1, 1))
    frames = np.zeros((1, 16, 32, 3), dtype=np.uint8)
    frames[0, :, 4:28] = 255          # white band covering the centre crop (16 -> 8 keeps 8:24)
    x = ft(frames)
    assert x.shape == (1, 3, 8, 8)
    assert torch.allclose(x, torch.ones_like(x), atol=1e-3)
    frames[0, :, 4:28] = 0            # the dark sides were cropped away, not squeezed in
    frames[0, :, :4] = frames[0, :, 28:] = 255
    assert float(ft(frames).max()) < 0.05
    with pytest.raises(ValueError, match="uint8"):
        ft(np.zeros((1, 8, 8, 3), dtype=np.float32))


def test_log_mel_statistics_matches_hand_segments():
    lm = np.arange(2 * 6, dtype=np.float32).reshape(2, 6)   # band 0: 0..5, band 1: 6..11
    st = log_mel_statistics(lm, 3)                           # segments [0,2) [2,4) [4,6)
    assert st.shape == (3, 4)
    np.testing.assert_allclose(st[:, 0], [0.5, 2.5, 4.5])
    np.testing.assert_allclose(st[:, 1], [6.5, 8.5, 10.5])
    np.testing.assert_allclose(st[:, 2:], 0.5)
    short = log_mel_statistics(lm[:, :1], 4)                 # fewer columns than segments
    assert np.isfinite(short).all() and np.allclose(short[:, 0], 0.0)


# ---------------------------------------------------------------- open_clip models
def test_open_clip_name_builds_offline_with_documented_streams(tiny_enc):
    enc = tiny_enc
    assert enc.streams == {"appearance": 24, "motion": 24, "audio": 128}
    assert enc.text_dim == 24 and enc.frame_transform.size == 32
    assert not enc.clip.training
    frames = torch.stack([enc.frame_transform(f) for f in _frames()])
    mel = np.random.default_rng(1).normal(size=(64, 50)).astype(np.float32)
    out = enc.encode_batch(frames, [mel, None])
    assert set(out[0]) == {"appearance", "motion", "audio"} and set(out[1]) == {"appearance", "motion"}
    # appearance = per-frame image features
    ref = enc.clip.encode_image(frames[0]).detach().numpy()
    np.testing.assert_allclose(out[0]["appearance"], ref, rtol=1e-5, atol=1e-5)
    # motion = consecutive differences of the frame features
    np.testing.assert_allclose(out[0]["motion"], ref[1:] - ref[:-1], rtol=1e-4, atol=1e-5)
    # audio = pooled log-mel statistics, one segment per frame
    np.testing.assert_allclose(out[0]["audio"], log_mel_statistics(mel, 3))
    assert all(v.dtype == np.float32 for d in out for v in d.values())


def test_text_module_equals_encode_text_even_for_short_tokens(tiny_enc):
    texts = ["a red ball moves left", "a blue cube"]
    tokens = tiny_enc.tokenize(texts, "en", full_context=True)
    assert tokens.shape == (2, 16) and tokens.dtype == torch.long
    short = tiny_enc.tokenize(texts, "en")                 # padded to the longest caption only
    assert short.shape == (2, 7) and torch.equal(short, tokens[:, :7]) and (tokens[:, 7:] == 0).all()
    ref = tiny_enc.encode_text(texts, "en")
    tm = tiny_enc.text_module()
    assert any(p.requires_grad for p in tm.parameters())
    assert torch.allclose(tm(tokens), ref, atol=1e-5)
    # a batch cut shorter than the context (causal mask not sliced by open_clip) still works
    assert torch.allclose(tm(tokens[:, :8]), ref, atol=1e-5)
    # the copy is independent of the frozen encoder
    with torch.no_grad():
        next(tm.parameters()).add_(1.0)
    assert torch.allclose(tiny_enc.encode_text(texts, "en"), ref)


def test_checkpoint_file_and_local_dir_give_same_weights(tiny_clip_name, tiny_enc, tmp_path):
    from safetensors.torch import save_file

    ckpt = tmp_path / "open_clip_model.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_enc.clip.state_dict().items()}, str(ckpt))
    from_file = create_encoder(tiny_clip_name, str(ckpt), device="cpu")
    assert from_file.weights_sha256 == tiny_enc.weights_sha256 == state_dict_sha256(tiny_enc.clip)
    assert from_file.provenance()["pretrained"] == str(ckpt)
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP}))
    from_dir = create_encoder(f"local-dir:{tmp_path}", device="cpu")
    assert from_dir.weights_sha256 == tiny_enc.weights_sha256
    frames = torch.stack([tiny_enc.frame_transform(f) for f in _frames(1)])
    a = tiny_enc.encode_batch(frames, [None])[0]["appearance"]
    np.testing.assert_allclose(from_dir.encode_batch(frames, [None])[0]["appearance"], a, atol=1e-6)
    assert torch.allclose(from_dir.encode_text(["x"], "en"), tiny_enc.encode_text(["x"], "en"))


def test_random_weights_differ_in_hash(tiny_clip_name, tiny_enc):
    other = create_encoder(tiny_clip_name, None, device="cpu", seed=123)
    assert other.weights_sha256 != tiny_enc.weights_sha256
    assert len(other.weights_sha256) == 64


def test_random_init_is_seeded_by_setup_and_leaves_the_callers_stream(tiny_clip_name):
    import mvkit
    from mvkit.features.encoders import encoder_from_identity

    mvkit.setup(0)
    a = create_encoder(tiny_clip_name, None, device="cpu")
    torch.manual_seed(99)                          # the global stream does not decide the weights
    b = create_encoder(tiny_clip_name, None, device="cpu")
    assert a.weights_sha256 == b.weights_sha256 == create_encoder(tiny_clip_name, None, seed=0).weights_sha256
    assert a.random_parts == ("video",) and a.provenance()["init_seed"] == 0
    mvkit.setup(7)
    c = create_encoder(tiny_clip_name, None, device="cpu")
    assert c.seed == 7 and c.weights_sha256 == create_encoder(tiny_clip_name, None, seed=7).weights_sha256
    assert c.weights_sha256 != a.weights_sha256
    # building an encoder draws nothing from the caller's random stream
    torch.manual_seed(5)
    want = torch.rand(4)
    torch.manual_seed(5)
    create_encoder(tiny_clip_name, None, device="cpu")
    assert torch.equal(torch.rand(4), want)
    # a new process (here: another seed by now) rebuilds the weights from the recorded seed
    mvkit.setup(3)
    assert encoder_from_identity(c.provenance()).weights_sha256 == c.weights_sha256
    mvkit.setup(0)


def test_vit_b_32_random_weights_twice_in_one_process_are_the_same():
    a = create_encoder("ViT-B-32", None, device="cpu", seed=0)
    b = create_encoder("ViT-B-32", None, device="cpu", seed=0)
    assert a.weights_sha256 == b.weights_sha256


def test_shipped_and_loaded_weights_ignore_the_seed():
    """Seeding changes nothing for weights that come from a file: the shipped mvkit-tiny keeps
    the hash its stores are named by (w6e6fd00049), under any seed."""
    tiny = create_encoder("mvkit-tiny", device="cpu", seed=5)
    assert tiny.weights_sha256.startswith("6e6fd00049") and tiny.random_parts == ()
    assert "init_seed" not in tiny.provenance()
    rand = create_encoder("mvkit-tiny", "random", device="cpu")
    assert rand.random_parts == ("video",)
    assert rand.weights_sha256 == create_encoder("mvkit-tiny", "random", device="cpu").weights_sha256 != \
        tiny.weights_sha256


def test_bad_inputs_raise_clear_errors(tiny_clip_name, tiny_enc, tmp_path):
    with pytest.raises(ValueError, match="no-such-model"):
        create_encoder("no-such-model")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        create_encoder(tiny_clip_name, str(tmp_path / "missing.pt"))
    with pytest.raises(ValueError, match="precision"):
        create_encoder(tiny_clip_name, precision="fp8")
    frames = torch.zeros(1, 1, 3, 32, 32)
    with pytest.raises(ValueError, match="2 frames"):
        tiny_enc.encode_batch(frames, [None])


def test_vit_b_32_builds_offline_and_encodes_two_frames():
    torch.manual_seed(0)
    enc = create_encoder("ViT-B-32", None, device="cpu")
    assert enc.streams == {"appearance": 512, "motion": 512, "audio": 128} and enc.text_dim == 512
    assert enc.frame_transform.size == 224 and not enc.clip.training
    frames = torch.stack([enc.frame_transform(_frames(1, 2, 40)[0])])
    out = enc.encode_batch(frames, [None])[0]
    assert out["appearance"].shape == (2, 512) and out["motion"].shape == (1, 512)
    assert enc.tokenize(["a cat"], "en").shape == (1, 4)            # [SOT] a cat [EOT]
    assert enc.tokenize(["a cat"], "en", full_context=True).shape == (1, 77)
    # CLIP's causal tower with an EOT pool: the trimmed batch gives the full-context features
    texts = ["a cat", "a dog running on the grass", "a red car"]
    with torch.no_grad():
        full = enc.text_clip.encode_text(enc.tokenize(texts, "en", full_context=True))
    assert torch.allclose(enc.encode_text(texts, "en"), full, atol=1e-5)


def test_nllb_tower_gets_the_nllb_language_code(tiny_clip_name, monkeypatch):
    enc = create_encoder(tiny_clip_name, None, device="cpu")
    calls = []

    class Recorder:
        set_lang_fn = True

        def set_language(self, code):
            calls.append(code)

        def __call__(self, texts):
            return torch.zeros(len(texts), 16, dtype=torch.long)

    monkeypatch.setattr(enc, "tokenizer", Recorder())
    monkeypatch.setattr(enc, "_nllb", True)
    enc.tokenize(["नमस्ते"], "hi")
    enc.tokenize(["வணக்கம்"], "tam")     # alias normalised first
    assert calls == ["hin_Deva", "tam_Taml"]


def test_tiny_encoder_rebuilds_from_its_own_provenance():
    """The trainer rebuilds an encoder from a store's provenance (text fine-tuning)."""
    from mvkit.features.encoders import create_encoder
    enc = create_encoder("mvkit-tiny", device="cpu")
    prov = enc.provenance()
    again = create_encoder(prov["encoder"], prov["pretrained"], device="cpu")
    assert prov["pretrained"] == "shipped"
    assert again.provenance()["weights_sha256"] == prov["weights_sha256"]


def test_pack_captions_hand_case_and_packed_features_equal_unpacked(tiny_enc):
    from mvkit.features.encoders import pack_captions

    tokens = torch.tensor([[2, 5, 3, 0, 0], [2, 6, 7, 8, 3], [2, 3, 0, 0, 0]])
    ids, pos, seg, where = pack_captions(tokens, pad_id=0, context=6)
    # first fit in order: caption 0 (3 tokens) opens row 0, caption 1 (5) needs row 1, caption 2 (2) fits row 0
    assert where.tolist() == [[0, 1, 0], [0, 0, 3]]
    assert ids.tolist() == [[2, 5, 3, 2, 3, 0], [2, 6, 7, 8, 3, 0]]
    assert pos.tolist() == [[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 4, 0]]
    assert seg.tolist() == [[1, 1, 1, 3, 3, 0], [2, 2, 2, 2, 2, 0]]
    texts = ["a red ball moves left", "a blue cube", "ball", "a small green striped cube spins"]
    tm = tiny_enc.text_module()
    assert tm.packable
    tok = tiny_enc.tokenize(texts, "en")
    with torch.no_grad():
        packed = tm(tok)
        tm.packable = False
        assert torch.allclose(packed, tm(tok), atol=1e-5)


def test_a_truncated_or_corrupt_checkpoint_is_named_for_every_backbone(tiny_clip_name, tiny_enc, tmp_path):
    from safetensors.torch import save_file

    from mvkit.backbone import ASSET_DIR, CLIP_WEIGHTS
    good = tmp_path / "good.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_enc.clip.state_dict().items()}, str(good))
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a checkpoint")
    shipped = (ASSET_DIR / CLIP_WEIGHTS).read_bytes()
    tiny_truncated = tmp_path / "tiny.safetensors"
    tiny_truncated.write_bytes(shipped[: len(shipped) // 3])
    for model, ckpt in [(tiny_clip_name, truncated), (tiny_clip_name, junk), ("mvkit-tiny", tiny_truncated),
                        ("mvkit-tiny", junk)]:
        with pytest.raises(ValueError, match=re.escape(str(ckpt))) as err:   # a ValueError naming the file
            create_encoder(model, str(ckpt), device="cpu")
        assert "SafetensorError" not in type(err.value).__name__


def test_text_batches_cover_every_row_once_within_their_limits():
    from mvkit.features.encoders import _text_batches

    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(3, 17, (50,), generator=g)
    tokens = (torch.arange(16)[None] < lengths[:, None]).long() * 7       # right-padded with 0
    batches = _text_batches(tokens, 0, batch_size=8, max_tokens=40, by_length=True)
    rows = torch.cat(batches)
    assert sorted(rows.tolist()) == list(range(50))
    for b in batches:
        n = int(lengths[b].max())
        assert len(b) <= 8 and (len(b) == 1 or len(b) * n <= 40)
    assert torch.cat([lengths[b] for b in batches]).diff().min() >= 0           # sorted by length
    plain = _text_batches(tokens, 0, batch_size=8, max_tokens=40, by_length=False)
    assert torch.equal(torch.cat(plain), torch.arange(50)) and len(plain) == 7


def test_encode_text_dedups_sorts_and_matches_full_context(tiny_enc):
    texts = ["a red ball moves left and then right across the frame", "a cube", "a red ball", "a cube",
             "blue", "a cube"] * 3
    with torch.no_grad():
        full = tiny_enc.clip.encode_text(tiny_enc.tokenize(texts, "en", full_context=True))
    for batch, budget in ((256, None), (2, None), (256, 12)):
        got = tiny_enc.encode_text(texts, "en", batch_size=batch, max_batch_tokens=budget)
        assert torch.allclose(got, full, atol=1e-5), (batch, budget)
    calls = []
    real = tiny_enc.tokenize
    tiny_enc.tokenize = lambda t, lang, **kw: calls.append(list(t)) or real(t, lang, **kw)
    try:
        tiny_enc.encode_text(texts, "en")
    finally:
        del tiny_enc.tokenize
    assert calls == [list(dict.fromkeys(texts))]                          # each distinct caption once
