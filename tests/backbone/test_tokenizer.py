"""mvkit-tiny's learned multilingual BPE: every script without [UNK], fixed-context padding."""
from __future__ import annotations

import pickle

import pytest
import torch

from mvkit.backbone.tokenizer import TinyTokenizer, save_tokenizer, train_tokenizer

CORPUS = [
    "a small red circle moves left quickly, then it moves right.",
    "ein kleiner roter Kreis bewegt sich schnell nach links.",
    "एक छोटा लाल वृत्त तेज़ी से बाईं ओर जाता है।",
    "एक लहान लाल वर्तुळ वेगाने डावीकडे जाते.",
    "ஒரு சிறிய சிவப்பு வட்டம் வேகமாக இடதுபுறம் நகர்கிறது.",
    "一个红色的小圆圈快速向左移动。",
    "小さな赤い円が素早く左に動く。",
    "маленький красный круг быстро движется влево.",
] * 5


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tok")
    save_tokenizer(train_tokenizer(CORPUS, vocab_size=1000, min_frequency=2), folder, context_length=24)
    return TinyTokenizer(folder / "tokenizer.json", 24), folder


@pytest.mark.parametrize("text", [
    "एक बड़ा नीला वर्ग",              # Devanagari (unseen words, seen letters)
    "ஒரு பெரிய நீல சதுரம்",          # Tamil
    "红色的圆圈向左快速移动",          # CJK: seen characters, new combination
    "赤い円が左に素早く動く",
])
def test_no_unk_for_seen_scripts(tok, text):
    t, _ = tok
    ids = t.encode_ids([text])[0]
    unk = t.tokenizer.token_to_id("[UNK]")
    # characters not in the corpus may be [UNK]; the scripts' common letters are not
    n_unk = ids.count(unk)
    n_new = sum(ch not in "".join(CORPUS) and not ch.isspace() for ch in text)
    assert n_unk <= n_new
    assert n_unk <= 0.25 * (len(ids) - 2)


def test_devanagari_costs_about_one_token_per_word_not_three_per_char(tok):
    t, _ = tok
    hi = "एक छोटा लाल वृत्त तेज़ी से बाईं ओर जाता है।"
    n = len(t.encode_ids([hi])[0]) - 2
    assert n <= len(hi.split()) + 2            # learned words, not bytes
    assert n < len(hi.encode("utf-8")) / 5


def test_padding_truncation_and_special_ids(tok):
    t, _ = tok
    out = t(["a small red circle", " ".join(["left"] * 60)])
    assert out.shape == (2, 24) and out.dtype == torch.long
    assert t.pad_id == 0 and t.eos_id == 3
    row = out[0].tolist()
    assert row[0] == 2 and row.count(3) == 1
    assert all(v == 0 for v in row[row.index(3) + 1:])
    assert out[1, -1].item() == 3 and (out[1] == 3).sum() == 1     # cut, EOS kept
    assert torch.equal(pickle.loads(pickle.dumps(t))(["a small red circle"]), out[:1])


def test_hf_tokenizer_reads_the_same_files(tok):
    transformers = pytest.importorskip("transformers")
    t, folder = tok
    hf = transformers.AutoTokenizer.from_pretrained(str(folder))
    text = "एक छोटा लाल वृत्त"
    assert hf(text)["input_ids"] == t.encode_ids([text])[0]
    assert hf.pad_token_id == 0
