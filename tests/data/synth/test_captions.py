import numpy as np
import pytest

from mvkit.data.attributes import effective_mention
from mvkit.data.synth.captions import realise, realise_segments, sample_noise, translate
from mvkit.data.synth.lexicon import LEXICONS

M = {"object": {"color": "red", "shape": "circle"}, "events": [{"motion": "left", "speed": "fast"}]}
SEQ = {"object": {"color": "red", "shape": "cross", "size": "big"},
       "events": [{"motion": "left"}, {"motion": "spin", "speed": "slow"}], "order": True, "sound": "knock"}


@pytest.mark.parametrize("lang,text", [
    ("en", "A red circle moves quickly to the left."),
    ("de", "Ein roter Kreis bewegt sich schnell nach links."),
    ("fr", "Un cercle rouge se déplace rapidement vers la gauche."),   # adjective after noun
    ("es", "Un círculo rojo se mueve rápidamente hacia la izquierda."),
    ("vi", "Một hình tròn màu đỏ nhanh chóng di chuyển sang trái."),
    ("sw", "Duara la rangi nyekundu linasogea kushoto kwa kasi."),       # class-5 agreement
    ("ru", "Красный круг быстро движется влево."),
    ("zh", "一个红色圆形快速地向左移动。"),
    ("ja", "赤い円が素早く左に動く。"),                                  # verb-final
    ("hi", "एक लाल वृत्त तेज़ी से बाईं ओर जाता है।"),                    # verb-final
    ("mr", "एक लाल वर्तुळ वेगाने डावीकडे जाते।"),                        # neuter agreement
    ("ta", "ஒரு சிவப்பு வட்டம் வேகமாக இடது பக்கம் நகர்கிறது."),
])
def test_machine_style_realisation_hand_checked(lang, text):
    assert realise(lang, M) == text


def test_gender_agreement_and_sequence():
    assert realise("fr", SEQ) == "Une grande croix rouge se déplace vers la gauche puis tourne lentement sur place en cognant."
    assert realise("de", SEQ) == "Ein großes rotes Kreuz bewegt sich nach links und dreht sich dann langsam mit dumpfem Klopfen."
    assert realise("es", SEQ).startswith("Una cruz roja grande")


def test_every_language_realises_every_value():
    from mvkit.data.synth.scene import COLORS, MOTIONS, SHAPES, SOUNDS, TEXTURES
    for lang in LEXICONS:
        for i, motion in enumerate(MOTIONS):
            m = {"object": {"color": COLORS[i % 6], "shape": SHAPES[i % 4], "texture": TEXTURES[i % 3],
                            "size": "big", "material": "wood"},
                 "events": [{"motion": motion}], "sound": SOUNDS[i % 3],
                 "object2": {"shape": "square"}, "events2": [{"motion": "stay"}]}
            text = realise(lang, m, np.random.default_rng(i))
            assert text and "{" not in text and "\x00" not in text, (lang, text)


def test_zero_noise_translation_is_the_clean_realisation():
    mt, bt, record = translate("hi", SEQ, np.random.default_rng(0), 0.0)
    assert record == [] and mt == realise("hi", SEQ) and bt == realise("en", SEQ)


def test_noise_rate_is_roughly_as_configured():
    rng = np.random.default_rng(0)
    hits = total = 0
    for _ in range(3000):
        _, ops, _record, _ = sample_noise(rng, SEQ, 0.3)
        total += 7                                  # color, shape, size, 2 motions, speed, sound
        hits += len(ops)
    assert abs(hits / total - 0.3) < 0.02


def test_noise_ops_show_in_text_and_in_effective_mention():
    rng = np.random.default_rng(1)
    seen, swapped_both = set(), 0
    for _ in range(400):
        mt, bt, record = translate("de", SEQ, rng, 0.5)
        eff = effective_mention({**SEQ, "noise": record})
        for op in record:
            seen.add(op["op"])
            if op["op"] == "drop" and op["tag"] == "o.color":
                assert "rot" not in mt and "red" not in bt and "color" not in eff["object"]
            if op["op"] == "leak" and op["tag"] == "o.shape":
                assert "cross" in mt and eff["object"]["shape"] == "cross"
            if op["op"] == "wrong_sense" and op["tag"] == "o.shape":
                assert "Wütender" in mt and "angry one" in bt
            if op["op"] == "reorder" and op["tag"] == "order":
                assert eff["order"] is False
                if "spin" in bt and "left" in bt:      # (another op may have dropped one of the motions)
                    assert bt.index("spin") < bt.index("left")
                    swapped_both += 1
    assert seen == {"drop", "leak", "wrong_sense", "reorder"} and swapped_both > 10


def test_segments_are_tagged_by_attribute():
    tags = {t for _, t in realise_segments("ja", SEQ) if t}
    assert tags == {"o.color", "o.shape", "o.size", "e0.motion", "e1.motion", "e1.speed", "sound"}
