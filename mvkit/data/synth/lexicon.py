"""Small hand-written lexicons: how each of 16 languages says the embedded world's words.

Each :class:`Lexicon` holds the words (with synonyms: human captions pick among them,
machine translation always takes the first) and the few rules of word order the
realiser needs: where adjectives go (before the noun in en/de/cs/ru/zh/ja and the
Indian languages, after it in fr/es/vi/sw), verb-final clauses (ja, hi, mr, ta, te,
kn, ml: the sound adverbial sits before the verb), gender or noun-class agreement
(de/fr/es/mr genders, Swahili noun classes through ``agree`` fillers), and the
connectives for "then", "and" and "while".

Templates: ``{s}`` marks where the speed adverb goes; ``{t}`` (German only) where "dann"
goes in the second of two events; ``{conn}``, ``{enye}``, ``{sp}`` are Swahili
agreement fillers. A value may be a dict keyed by grammatical gender.

``WRONG_SENSE`` gives, for words with a second sense, that wrong sense in every
language (English "left" as in "left over", "fast" as in "held fast", ...): the
machine-translation noise model uses it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Lexicon:
    code: str
    nouns: dict[str, list[tuple[str, str]]]        # shape (or "object") -> [(word, gender)]
    adj: dict[str, dict[str, list[Any]]]           # attribute -> value -> [str | {gender: str}]
    motions: dict[str, list[Any]]                  # motion (or "appear") -> [template]
    speed: dict[str, list[str]]
    sound: dict[str, list[str]]
    np_order: tuple[str, ...]
    art: Any = ""                                  # str or {gender: str}
    then: str = "then"
    then_infix: str | None = None
    and_: str = "and"
    while_: str = "while"
    sep: str = " "
    end: str = "."
    subj: str = ""                                 # particle after the subject (ja が)
    sound_pos: str = "end"                         # "end" of clause or "pre" (before the verb)
    capitalize: bool = True
    agree: dict[str, dict[str, str]] = field(default_factory=dict)


def _g(**forms: str) -> dict[str, str]:
    return forms


def _de(stem: str) -> dict[str, str]:
    """German strong adjective endings after ``ein``/``eine`` (nominative)."""
    return {"m": stem + "er", "n": stem + "es", "f": stem + "e"}


EN = Lexicon(
    "en",
    nouns={"circle": [("circle", "-"), ("disc", "-")], "square": [("square", "-"), ("box", "-")],
           "triangle": [("triangle", "-")], "cross": [("cross", "-"), ("plus sign", "-")],
           "object": [("object", "-"), ("shape", "-"), ("thing", "-")]},
    adj={"size": {"small": ["small", "little"], "big": ["big", "large"]},
         "color": {c: [c] for c in ("red", "green", "blue", "yellow", "white", "purple")},
         "texture": {"plain": ["plain", "solid"], "striped": ["striped"], "dotted": ["dotted", "spotted"]},
         "material": {"metal": ["metal"], "wood": ["wooden"]}},
    motions={"left": ["moves{s} to the left", "slides{s} left", "travels{s} leftward"],
             "right": ["moves{s} to the right", "slides{s} right", "travels{s} rightward"],
             "up": ["moves{s} up", "rises{s}", "floats{s} upward"],
             "down": ["moves{s} down", "sinks{s}", "drops{s} downward"],
             "grow": ["grows{s}", "gets bigger{s}", "expands{s}"],
             "shrink": ["shrinks{s}", "gets smaller{s}", "contracts{s}"],
             "spin": ["spins{s}", "rotates{s}", "turns around{s}"],
             "bounce": ["bounces{s}", "hops{s} up and down", "bounces{s} up and down"],
             "stay": ["stays still", "does not move", "rests in place"],
             "appear": ["is shown", "appears", "is visible"]},
    speed={"slow": ["slowly", "gently"], "fast": ["quickly", "rapidly"]},
    sound={"ring": ["with a ringing sound", "with a metallic clang", "and it rings"],
           "knock": ["with a knocking sound", "with a dull knock", "and it knocks"],
           "none": ["in silence", "without any sound", "silently"]},
    np_order=("art", "size", "color", "texture", "material", "noun"),
    art="a", then="and then", and_="and", while_="while",
)

DE = Lexicon(
    "de",
    nouns={"circle": [("Kreis", "m")], "square": [("Quadrat", "n")], "triangle": [("Dreieck", "n")],
           "cross": [("Kreuz", "n")], "object": [("Objekt", "n"), ("Ding", "n")]},
    adj={"size": {"small": [_de("klein")], "big": [_de("groß")]},
         "color": {"red": [_de("rot")], "green": [_de("grün")], "blue": [_de("blau")],
                   "yellow": [_de("gelb")], "white": [_de("weiß")], "purple": [_de("violett")]},
         "texture": {"plain": [_de("einfarbig")], "striped": [_de("gestreift")], "dotted": [_de("gepunktet")]},
         "material": {"metal": ["aus Metall"], "wood": ["aus Holz"]}},
    motions={"left": ["bewegt sich{t}{s} nach links"], "right": ["bewegt sich{t}{s} nach rechts"],
             "up": ["steigt{t}{s} nach oben"], "down": ["sinkt{t}{s} nach unten"],
             "grow": ["wächst{t}{s}", "wird{t}{s} größer"], "shrink": ["schrumpft{t}{s}", "wird{t}{s} kleiner"],
             "spin": ["dreht sich{t}{s}"], "bounce": ["hüpft{t}{s}", "springt{t}{s} auf und ab"],
             "stay": ["bleibt{t} stehen", "bewegt sich{t} nicht"], "appear": ["ist zu sehen"]},
    speed={"slow": ["langsam"], "fast": ["schnell"]},
    sound={"ring": ["mit hellem Klingen"], "knock": ["mit dumpfem Klopfen"], "none": ["lautlos"]},
    np_order=("art", "size", "color", "texture", "noun", "material"),
    art={"m": "ein", "n": "ein", "f": "eine"}, then="und", then_infix="dann", and_="und",
    while_=", und",
)

FR = Lexicon(
    "fr",
    nouns={"circle": [("cercle", "m")], "square": [("carré", "m")], "triangle": [("triangle", "m")],
           "cross": [("croix", "f")], "object": [("objet", "m")]},
    adj={"size": {"small": [_g(m="petit", f="petite")], "big": [_g(m="grand", f="grande")]},
         "color": {"red": ["rouge"], "green": [_g(m="vert", f="verte")], "blue": [_g(m="bleu", f="bleue")],
                   "yellow": ["jaune"], "white": [_g(m="blanc", f="blanche")],
                   "purple": [_g(m="violet", f="violette")]},
         "texture": {"plain": [_g(m="uni", f="unie")], "striped": [_g(m="rayé", f="rayée")],
                     "dotted": ["à pois"]},
         "material": {"metal": ["en métal"], "wood": ["en bois"]}},
    motions={"left": ["se déplace{s} vers la gauche"], "right": ["se déplace{s} vers la droite"],
             "up": ["monte{s}"], "down": ["descend{s}"], "grow": ["grandit{s}"], "shrink": ["rétrécit{s}"],
             "spin": ["tourne{s} sur place"], "bounce": ["rebondit{s}"], "stay": ["reste immobile"],
             "appear": ["apparaît"]},
    speed={"slow": ["lentement"], "fast": ["rapidement", "vite"]},
    sound={"ring": ["en tintant"], "knock": ["en cognant"], "none": ["en silence"]},
    np_order=("art", "size", "noun", "color", "texture", "material"),
    art={"m": "un", "f": "une"}, then="puis", and_="et", while_="pendant que",
)

ES = Lexicon(
    "es",
    nouns={"circle": [("círculo", "m")], "square": [("cuadrado", "m")], "triangle": [("triángulo", "m")],
           "cross": [("cruz", "f")], "object": [("objeto", "m")]},
    adj={"size": {"small": [_g(m="pequeño", f="pequeña")], "big": ["grande"]},
         "color": {"red": [_g(m="rojo", f="roja")], "green": ["verde"], "blue": ["azul"],
                   "yellow": [_g(m="amarillo", f="amarilla")], "white": [_g(m="blanco", f="blanca")],
                   "purple": [_g(m="morado", f="morada")]},
         "texture": {"plain": [_g(m="liso", f="lisa")], "striped": ["a rayas"], "dotted": ["de lunares"]},
         "material": {"metal": ["de metal"], "wood": ["de madera"]}},
    motions={"left": ["se mueve{s} hacia la izquierda"], "right": ["se mueve{s} hacia la derecha"],
             "up": ["sube{s}"], "down": ["baja{s}"], "grow": ["crece{s}"], "shrink": ["se encoge{s}"],
             "spin": ["gira{s}"], "bounce": ["rebota{s}"], "stay": ["permanece inmóvil"],
             "appear": ["aparece"]},
    speed={"slow": ["despacio", "lentamente"], "fast": ["rápidamente"]},
    sound={"ring": ["con un tintineo"], "knock": ["con un golpeteo"], "none": ["en silencio"]},
    np_order=("art", "noun", "color", "size", "texture", "material"),
    art={"m": "un", "f": "una"}, then="y luego", and_="y", while_="mientras",
)

CS = Lexicon(
    "cs",
    nouns={"circle": [("kruh", "m")], "square": [("čtverec", "m")], "triangle": [("trojúhelník", "m")],
           "cross": [("kříž", "m")], "object": [("předmět", "m")]},
    adj={"size": {"small": ["malý"], "big": ["velký"]},
         "color": {"red": ["červený"], "green": ["zelený"], "blue": ["modrý"], "yellow": ["žlutý"],
                   "white": ["bílý"], "purple": ["fialový"]},
         "texture": {"plain": ["jednobarevný"], "striped": ["pruhovaný"], "dotted": ["tečkovaný"]},
         "material": {"metal": ["kovový"], "wood": ["dřevěný"]}},
    motions={"left": ["se{s} pohybuje doleva"], "right": ["se{s} pohybuje doprava"],
             "up": ["{s} stoupá nahoru"], "down": ["{s} klesá dolů"], "grow": ["{s} roste"],
             "shrink": ["se{s} zmenšuje"], "spin": ["se{s} otáčí"], "bounce": ["{s} poskakuje"],
             "stay": ["stojí na místě"], "appear": ["je vidět"]},
    speed={"slow": ["pomalu"], "fast": ["rychle"]},
    sound={"ring": ["se zvoněním"], "knock": ["s klepáním"], "none": ["bez zvuku"]},
    np_order=("size", "color", "texture", "material", "noun"),
    then="a pak", and_="a", while_=", zatímco",
)

RU = Lexicon(
    "ru",
    nouns={"circle": [("круг", "m")], "square": [("квадрат", "m")], "triangle": [("треугольник", "m")],
           "cross": [("крест", "m")], "object": [("предмет", "m")]},
    adj={"size": {"small": ["маленький"], "big": ["большой"]},
         "color": {"red": ["красный"], "green": ["зелёный"], "blue": ["синий"], "yellow": ["жёлтый"],
                   "white": ["белый"], "purple": ["фиолетовый"]},
         "texture": {"plain": ["однотонный"], "striped": ["полосатый"], "dotted": ["пятнистый"]},
         "material": {"metal": ["металлический"], "wood": ["деревянный"]}},
    motions={"left": ["{s} движется влево"], "right": ["{s} движется вправо"],
             "up": ["{s} поднимается вверх"], "down": ["{s} опускается вниз"], "grow": ["{s} растёт"],
             "shrink": ["{s} уменьшается"], "spin": ["{s} вращается"], "bounce": ["{s} подпрыгивает"],
             "stay": ["стоит на месте"], "appear": ["виден"]},
    speed={"slow": ["медленно"], "fast": ["быстро"]},
    sound={"ring": ["со звоном"], "knock": ["со стуком"], "none": ["беззвучно"]},
    np_order=("size", "color", "texture", "material", "noun"),
    then=", а затем", and_="и", while_=", а",
)

ZH = Lexicon(
    "zh",
    nouns={"circle": [("圆形", "-")], "square": [("正方形", "-")], "triangle": [("三角形", "-")],
           "cross": [("十字形", "-")], "object": [("物体", "-")]},
    adj={"size": {"small": ["小"], "big": ["大"]},
         "color": {"red": ["红色"], "green": ["绿色"], "blue": ["蓝色"], "yellow": ["黄色"],
                   "white": ["白色"], "purple": ["紫色"]},
         "texture": {"plain": ["纯色"], "striped": ["条纹"], "dotted": ["圆点"]},
         "material": {"metal": ["金属"], "wood": ["木制"]}},
    motions={"left": ["{s}向左移动"], "right": ["{s}向右移动"], "up": ["{s}向上移动", "{s}上升"],
             "down": ["{s}向下移动", "{s}下降"], "grow": ["{s}变大"], "shrink": ["{s}变小"],
             "spin": ["{s}旋转"], "bounce": ["{s}弹跳"], "stay": ["静止不动"], "appear": ["出现了"]},
    speed={"slow": ["缓慢地"], "fast": ["快速地"]},
    sound={"ring": ["，发出叮当声"], "knock": ["，发出咚咚的敲击声"], "none": ["，没有声音"]},
    np_order=("art", "size", "color", "texture", "material", "noun"),
    art="一个", then="，然后", and_="，并且", while_="，同时", sep="", end="。", capitalize=False,
)

JA = Lexicon(
    "ja",
    nouns={"circle": [("円", "-")], "square": [("四角", "-")], "triangle": [("三角", "-")],
           "cross": [("十字", "-")], "object": [("物体", "-")]},
    adj={"size": {"small": ["小さな"], "big": ["大きな"]},
         "color": {"red": ["赤い"], "green": ["緑の"], "blue": ["青い"], "yellow": ["黄色い"],
                   "white": ["白い"], "purple": ["紫の"]},
         "texture": {"plain": ["無地の"], "striped": ["縞模様の"], "dotted": ["水玉模様の"]},
         "material": {"metal": ["金属の"], "wood": ["木の"]}},
    motions={"left": ["{s}左に動く", "{s}左へ移動する"], "right": ["{s}右に動く", "{s}右へ移動する"],
             "up": ["{s}上に動く", "{s}上昇する"], "down": ["{s}下に動く", "{s}下降する"],
             "grow": ["{s}大きくなる"], "shrink": ["{s}小さくなる"], "spin": ["{s}回転する"],
             "bounce": ["{s}跳ねる"], "stay": ["じっと止まっている"], "appear": ["見える"]},
    speed={"slow": ["ゆっくり"], "fast": ["素早く"]},
    sound={"ring": ["カーンと音を立てて"], "knock": ["コツコツと音を立てて"], "none": ["音もなく"]},
    np_order=("size", "color", "texture", "material", "noun"),
    then="。それから", and_="。また", while_="一方で、", sep="", end="。", subj="が",
    sound_pos="pre", capitalize=False,
)

VI = Lexicon(
    "vi",
    nouns={"circle": [("hình tròn", "-")], "square": [("hình vuông", "-")],
           "triangle": [("hình tam giác", "-")], "cross": [("hình chữ thập", "-")],
           "object": [("vật thể", "-")]},
    adj={"size": {"small": ["nhỏ"], "big": ["lớn"]},
         "color": {"red": ["màu đỏ"], "green": ["màu xanh lá"], "blue": ["màu xanh dương"],
                   "yellow": ["màu vàng"], "white": ["màu trắng"], "purple": ["màu tím"]},
         "texture": {"plain": ["trơn"], "striped": ["có sọc"], "dotted": ["có chấm bi"]},
         "material": {"metal": ["bằng kim loại"], "wood": ["bằng gỗ"]}},
    motions={"left": ["{s} di chuyển sang trái"], "right": ["{s} di chuyển sang phải"],
             "up": ["{s} đi lên"], "down": ["{s} đi xuống"], "grow": ["{s} to dần ra"],
             "shrink": ["{s} nhỏ dần lại"], "spin": ["{s} xoay tròn"], "bounce": ["{s} nảy lên nảy xuống"],
             "stay": ["đứng yên"], "appear": ["xuất hiện"]},
    speed={"slow": ["chậm rãi"], "fast": ["nhanh chóng"]},
    sound={"ring": ["kêu leng keng"], "knock": ["kêu cộc cộc"], "none": ["không phát ra tiếng động"]},
    np_order=("art", "noun", "size", "color", "texture", "material"),
    art="một", then="rồi", and_="và", while_="trong khi",
)

SW = Lexicon(
    "sw",
    nouns={"circle": [("duara", "5")], "square": [("mraba", "3")], "triangle": [("pembetatu", "9")],
           "cross": [("msalaba", "3")], "object": [("kitu", "7")]},
    adj={"size": {"small": [_g(**{"5": "dogo", "3": "mdogo", "9": "ndogo", "7": "kidogo"})],
                  "big": [_g(**{"5": "kubwa", "3": "mkubwa", "9": "kubwa", "7": "kikubwa"})]},
         "color": {"red": ["{conn} rangi nyekundu"], "green": ["{conn} rangi ya kijani"],
                   "blue": ["{conn} rangi ya bluu"], "yellow": ["{conn} rangi ya njano"],
                   "white": ["{conn} rangi nyeupe"], "purple": ["{conn} rangi ya zambarau"]},
         "texture": {"plain": ["{conn} rangi moja"], "striped": ["{enye} mistari"], "dotted": ["{enye} madoa"]},
         "material": {"metal": ["{conn} chuma"], "wood": ["{conn} mbao"]}},
    motions={"left": ["{sp}nasogea kushoto{s}"], "right": ["{sp}nasogea kulia{s}"],
             "up": ["{sp}napanda juu{s}"], "down": ["{sp}nashuka chini{s}"],
             "grow": ["{sp}naongezeka ukubwa{s}"], "shrink": ["{sp}napungua ukubwa{s}"],
             "spin": ["{sp}nazunguka{s}"], "bounce": ["{sp}nadunda{s}"], "stay": ["{sp}metulia pale pale"],
             "appear": ["{sp}naonekana"]},
    speed={"slow": ["polepole"], "fast": ["kwa kasi"]},
    sound={"ring": ["kwa mlio wa kengele"], "knock": ["kwa sauti ya kugonga"], "none": ["bila sauti"]},
    np_order=("noun", "size", "color", "texture", "material"),
    then="kisha", and_="na pia", while_="huku",
    agree={"5": {"conn": "la", "enye": "lenye", "sp": "li"}, "3": {"conn": "wa", "enye": "wenye", "sp": "u"},
           "9": {"conn": "ya", "enye": "yenye", "sp": "i"}, "7": {"conn": "cha", "enye": "chenye", "sp": "ki"}},
)

HI = Lexicon(
    "hi",
    nouns={"circle": [("वृत्त", "m"), ("गोला", "m")], "square": [("वर्ग", "m")], "triangle": [("त्रिभुज", "m")],
           "cross": [("क्रॉस", "m")], "object": [("आकार", "m")]},
    adj={"size": {"small": ["छोटा"], "big": ["बड़ा"]},
         "color": {"red": ["लाल"], "green": ["हरा"], "blue": ["नीला"], "yellow": ["पीला"],
                   "white": ["सफ़ेद"], "purple": ["बैंगनी"]},
         "texture": {"plain": ["सादा"], "striped": ["धारीदार"], "dotted": ["बिंदीदार"]},
         "material": {"metal": ["धातु का"], "wood": ["लकड़ी का"]}},
    motions={"left": ["{s} बाईं ओर जाता है", "{s} बाईं ओर खिसकता है"],
             "right": ["{s} दाईं ओर जाता है", "{s} दाईं ओर खिसकता है"],
             "up": ["{s} ऊपर जाता है", "{s} ऊपर उठता है"], "down": ["{s} नीचे जाता है", "{s} नीचे आता है"],
             "grow": ["{s} बड़ा होता है"], "shrink": ["{s} छोटा होता है"], "spin": ["{s} घूमता है"],
             "bounce": ["{s} उछलता है"], "stay": ["अपनी जगह स्थिर रहता है"], "appear": ["दिखाई देता है"]},
    speed={"slow": ["धीरे-धीरे"], "fast": ["तेज़ी से"]},
    sound={"ring": ["खनखनाहट के साथ"], "knock": ["ठक-ठक की आवाज़ के साथ"], "none": ["बिना आवाज़ के"]},
    np_order=("art", "size", "color", "texture", "material", "noun"),
    art="एक", then="और फिर", and_="और", while_=", जबकि", end="।", sound_pos="pre", capitalize=False,
)

MR = Lexicon(
    "mr",
    nouns={"circle": [("वर्तुळ", "n")], "square": [("चौरस", "m")], "triangle": [("त्रिकोण", "m")],
           "cross": [("क्रॉस", "m")], "object": [("आकार", "m")]},
    adj={"size": {"small": ["लहान"], "big": [_g(m="मोठा", n="मोठे")]},
         "color": {"red": ["लाल"], "green": [_g(m="हिरवा", n="हिरवे")], "blue": [_g(m="निळा", n="निळे")],
                   "yellow": [_g(m="पिवळा", n="पिवळे")], "white": [_g(m="पांढरा", n="पांढरे")],
                   "purple": [_g(m="जांभळा", n="जांभळे")]},
         "texture": {"plain": [_g(m="साधा", n="साधे")], "striped": ["पट्टेदार"], "dotted": ["ठिपकेदार"]},
         "material": {"metal": [_g(m="धातूचा", n="धातूचे")], "wood": ["लाकडी"]}},
    motions={"left": [_g(m="{s} डावीकडे जातो", n="{s} डावीकडे जाते")],
             "right": [_g(m="{s} उजवीकडे जातो", n="{s} उजवीकडे जाते")],
             "up": [_g(m="{s} वर जातो", n="{s} वर जाते")], "down": [_g(m="{s} खाली जातो", n="{s} खाली जाते")],
             "grow": [_g(m="{s} मोठा होतो", n="{s} मोठे होते")],
             "shrink": [_g(m="{s} लहान होतो", n="{s} लहान होते")],
             "spin": [_g(m="{s} फिरतो", n="{s} फिरते")], "bounce": [_g(m="{s} उड्या मारतो", n="{s} उड्या मारते")],
             "stay": [_g(m="जागीच स्थिर राहतो", n="जागीच स्थिर राहते")], "appear": [_g(m="दिसतो", n="दिसते")]},
    speed={"slow": ["हळूहळू"], "fast": ["वेगाने"]},
    sound={"ring": ["किणकिण आवाज करत"], "knock": ["ठकठक आवाज करत"], "none": ["आवाज न करता"]},
    np_order=("art", "size", "color", "texture", "material", "noun"),
    art="एक", then="आणि मग", and_="आणि", while_=", तर", end="।", sound_pos="pre", capitalize=False,
)

TA = Lexicon(
    "ta",
    nouns={"circle": [("வட்டம்", "-")], "square": [("சதுரம்", "-")], "triangle": [("முக்கோணம்", "-")],
           "cross": [("கூட்டல் குறி", "-")], "object": [("பொருள்", "-")]},
    adj={"size": {"small": ["சிறிய"], "big": ["பெரிய"]},
         "color": {"red": ["சிவப்பு"], "green": ["பச்சை"], "blue": ["நீல"], "yellow": ["மஞ்சள்"],
                   "white": ["வெள்ளை"], "purple": ["ஊதா"]},
         "texture": {"plain": ["ஒற்றை நிற"], "striped": ["கோடுகள் கொண்ட"], "dotted": ["புள்ளிகள் கொண்ட"]},
         "material": {"metal": ["உலோக"], "wood": ["மர"]}},
    motions={"left": ["{s} இடது பக்கம் நகர்கிறது"], "right": ["{s} வலது பக்கம் நகர்கிறது"],
             "up": ["{s} மேலே எழுகிறது"], "down": ["{s} கீழே இறங்குகிறது"], "grow": ["{s} பெரிதாகிறது"],
             "shrink": ["{s} சிறிதாகிறது"], "spin": ["{s} சுழல்கிறது"], "bounce": ["{s} துள்ளுகிறது"],
             "stay": ["அசையாமல் நிற்கிறது"], "appear": ["தெரிகிறது"]},
    speed={"slow": ["மெதுவாக"], "fast": ["வேகமாக"]},
    sound={"ring": ["கணீர் என்ற ஒலியுடன்"], "knock": ["டக் டக் என்ற ஒலியுடன்"], "none": ["சத்தமின்றி"]},
    np_order=("art", "size", "color", "texture", "material", "noun"),
    art="ஒரு", then=", பிறகு", and_=", மேலும்", while_=", அதே நேரத்தில்", sound_pos="pre", capitalize=False,
)

TE = Lexicon(
    "te",
    nouns={"circle": [("వృత్తం", "-")], "square": [("చతురస్రం", "-")], "triangle": [("త్రిభుజం", "-")],
           "cross": [("ప్లస్ గుర్తు", "-")], "object": [("వస్తువు", "-")]},
    adj={"size": {"small": ["చిన్న"], "big": ["పెద్ద"]},
         "color": {"red": ["ఎరుపు"], "green": ["ఆకుపచ్చ"], "blue": ["నీలి"], "yellow": ["పసుపు"],
                   "white": ["తెల్లని"], "purple": ["ఊదా"]},
         "texture": {"plain": ["సాదా"], "striped": ["చారల"], "dotted": ["చుక్కల"]},
         "material": {"metal": ["లోహపు"], "wood": ["చెక్క"]}},
    motions={"left": ["{s} ఎడమ వైపుకు కదులుతుంది"], "right": ["{s} కుడి వైపుకు కదులుతుంది"],
             "up": ["{s} పైకి లేస్తుంది"], "down": ["{s} కిందికి దిగుతుంది"], "grow": ["{s} పెద్దదవుతుంది"],
             "shrink": ["{s} చిన్నదవుతుంది"], "spin": ["{s} తిరుగుతుంది"], "bounce": ["{s} ఎగిరిపడుతుంది"],
             "stay": ["కదలకుండా ఉంటుంది"], "appear": ["కనిపిస్తుంది"]},
    speed={"slow": ["నెమ్మదిగా"], "fast": ["వేగంగా"]},
    sound={"ring": ["గణగణ శబ్దంతో"], "knock": ["టక్ టక్ శబ్దంతో"], "none": ["శబ్దం లేకుండా"]},
    np_order=("art", "size", "color", "texture", "material", "noun"),
    art="ఒక", then=", తర్వాత", and_=", మరియు", while_=", అదే సమయంలో", sound_pos="pre", capitalize=False,
)

KN = Lexicon(
    "kn",
    nouns={"circle": [("ವೃತ್ತ", "-")], "square": [("ಚೌಕ", "-")], "triangle": [("ತ್ರಿಕೋನ", "-")],
           "cross": [("ಪ್ಲಸ್ ಚಿಹ್ನೆ", "-")], "object": [("ವಸ್ತು", "-")]},
    adj={"size": {"small": ["ಸಣ್ಣ"], "big": ["ದೊಡ್ಡ"]},
         "color": {"red": ["ಕೆಂಪು"], "green": ["ಹಸಿರು"], "blue": ["ನೀಲಿ"], "yellow": ["ಹಳದಿ"],
                   "white": ["ಬಿಳಿ"], "purple": ["ನೇರಳೆ"]},
         "texture": {"plain": ["ಸರಳ"], "striped": ["ಪಟ್ಟೆಗಳಿರುವ"], "dotted": ["ಚುಕ್ಕೆಗಳಿರುವ"]},
         "material": {"metal": ["ಲೋಹದ"], "wood": ["ಮರದ"]}},
    motions={"left": ["{s} ಎಡಕ್ಕೆ ಚಲಿಸುತ್ತದೆ"], "right": ["{s} ಬಲಕ್ಕೆ ಚಲಿಸುತ್ತದೆ"],
             "up": ["{s} ಮೇಲಕ್ಕೆ ಏರುತ್ತದೆ"], "down": ["{s} ಕೆಳಕ್ಕೆ ಇಳಿಯುತ್ತದೆ"], "grow": ["{s} ದೊಡ್ಡದಾಗುತ್ತದೆ"],
             "shrink": ["{s} ಚಿಕ್ಕದಾಗುತ್ತದೆ"], "spin": ["{s} ತಿರುಗುತ್ತದೆ"], "bounce": ["{s} ಪುಟಿಯುತ್ತದೆ"],
             "stay": ["ಅಲುಗಾಡದೆ ನಿಂತಿರುತ್ತದೆ"], "appear": ["ಕಾಣುತ್ತದೆ"]},
    speed={"slow": ["ನಿಧಾನವಾಗಿ"], "fast": ["ವೇಗವಾಗಿ"]},
    sound={"ring": ["ಠಣ್ ಎಂಬ ಶಬ್ದದೊಂದಿಗೆ"], "knock": ["ಟಕ್ ಟಕ್ ಶಬ್ದದೊಂದಿಗೆ"], "none": ["ಶಬ್ದವಿಲ್ಲದೆ"]},
    np_order=("art", "size", "color", "texture", "material", "noun"),
    art="ಒಂದು", then=", ನಂತರ", and_=" ಮತ್ತು", while_=", ಅದೇ ಸಮಯದಲ್ಲಿ", sound_pos="pre", capitalize=False,
)

ML = Lexicon(
    "ml",
    nouns={"circle": [("വൃത്തം", "-")], "square": [("ചതുരം", "-")], "triangle": [("ത്രികോണം", "-")],
           "cross": [("അധിക ചിഹ്നം", "-")], "object": [("വസ്തു", "-")]},
    adj={"size": {"small": ["ചെറിയ"], "big": ["വലിയ"]},
         "color": {"red": ["ചുവന്ന"], "green": ["പച്ച"], "blue": ["നീല"], "yellow": ["മഞ്ഞ"],
                   "white": ["വെളുത്ത"], "purple": ["വയലറ്റ്"]},
         "texture": {"plain": ["ഒറ്റനിറമുള്ള"], "striped": ["വരകളുള്ള"], "dotted": ["പുള്ളികളുള്ള"]},
         "material": {"metal": ["ലോഹ"], "wood": ["മര"]}},
    motions={"left": ["{s} ഇടത്തോട്ട് നീങ്ങുന്നു"], "right": ["{s} വലത്തോട്ട് നീങ്ങുന്നു"],
             "up": ["{s} മുകളിലേക്ക് ഉയരുന്നു"], "down": ["{s} താഴേക്ക് ഇറങ്ങുന്നു"], "grow": ["{s} വലുതാകുന്നു"],
             "shrink": ["{s} ചെറുതാകുന്നു"], "spin": ["{s} കറങ്ങുന്നു"], "bounce": ["{s} തുള്ളിച്ചാടുന്നു"],
             "stay": ["അനങ്ങാതെ നിൽക്കുന്നു"], "appear": ["കാണപ്പെടുന്നു"]},
    speed={"slow": ["പതുക്കെ"], "fast": ["വേഗത്തിൽ"]},
    sound={"ring": ["മണിനാദത്തോടെ"], "knock": ["ടക് ടക് ശബ്ദത്തോടെ"], "none": ["ശബ്ദമില്ലാതെ"]},
    np_order=("art", "size", "color", "texture", "material", "noun"),
    art="ഒരു", then=", പിന്നെ", and_=", കൂടാതെ", while_=", അതേസമയം", sound_pos="pre", capitalize=False,
)

LEXICONS: dict[str, Lexicon] = {lx.code: lx for lx in (EN, DE, FR, ES, CS, RU, ZH, VI, SW, JA, HI, MR, TA, TE, KN, ML)}

# Words with a second sense, and that wrong sense in every language (MT noise "wrong_sense").
# Keys are (attribute, value); the English entry is what back-translation brings home.
WRONG_SENSE: dict[tuple[str, str], dict[str, str]] = {
    ("motion", "left"): {"en": "remaining", "de": "übrig", "fr": "restant", "es": "restante", "cs": "zbývající",
                             "ru": "оставшийся", "zh": "剩下的", "ja": "残りの", "vi": "còn lại", "sw": "iliyobaki",
                             "hi": "बचा हुआ", "mr": "उरलेला", "ta": "மீதமுள்ள", "te": "మిగిలిన", "kn": "ಉಳಿದ", "ml": "ബാക്കിയുള്ള"},
    ("motion", "right"): {"en": "correct", "de": "richtig", "fr": "correct", "es": "correcto", "cs": "správný",
                              "ru": "правильный", "zh": "正确的", "ja": "正しい", "vi": "đúng", "sw": "sahihi", "hi": "सही",
                              "mr": "बरोबर", "ta": "சரியான", "te": "సరైన", "kn": "ಸರಿಯಾದ", "ml": "ശരിയായ"},
    ("speed", "fast"): {"en": "firmly", "de": "fest", "fr": "fermement", "es": "firmemente", "cs": "pevně", "ru": "крепко",
                            "zh": "牢固地", "ja": "しっかり", "vi": "chắc chắn", "sw": "imara", "hi": "मज़बूती से", "mr": "घट्ट",
                            "ta": "உறுதியாக", "te": "గట్టిగా", "kn": "ಗಟ್ಟಿಯಾಗಿ", "ml": "ഉറപ്പായി"},
    ("shape", "square"): {"en": "town square", "de": "Platz", "fr": "place", "es": "plaza", "cs": "náměstí",
                              "ru": "площадь", "zh": "广场", "ja": "広場", "vi": "quảng trường", "sw": "uwanja", "hi": "चौक",
                              "mr": "चौक", "ta": "சதுக்கம்", "te": "కూడలి", "kn": "ಮೈದಾನ", "ml": "ചത്വരം"},
    ("shape", "cross"): {"en": "angry one", "de": "Wütender", "fr": "fâché", "es": "enfadado", "cs": "naštvaný",
                             "ru": "сердитый", "zh": "生气的人", "ja": "怒った人", "vi": "người tức giận", "sw": "mwenye hasira",
                             "hi": "नाराज़", "mr": "रागावलेला", "ta": "கோபமானவர்", "te": "కోపిష్టి", "kn": "ಕೋಪಗೊಂಡವನು",
                             "ml": "ദേഷ്യക്കാരൻ"},
    ("sound", "ring"): {"en": "with a ring on", "de": "mit einem Ring", "fr": "avec une bague", "es": "con un anillo",
                            "cs": "s prstenem", "ru": "с кольцом", "zh": "，戴着戒指", "ja": "指輪をつけて",
                            "vi": "với một chiếc nhẫn", "sw": "kwa pete", "hi": "अंगूठी के साथ", "mr": "अंगठीसह",
                            "ta": "மோதிரத்துடன்", "te": "ఉంగరంతో", "kn": "ಉಂಗುರದೊಂದಿಗೆ", "ml": "മോതിരത്തോടെ"},
    ("texture", "plain"): {"en": "prairie", "de": "Ebene", "fr": "plaine", "es": "llanura", "cs": "rovina", "ru": "равнина",
                               "zh": "平原", "ja": "平原の", "vi": "đồng bằng", "sw": "tambarare", "hi": "मैदानी",
                               "mr": "मैदानी", "ta": "சமவெளி", "te": "మైదాన", "kn": "ಬಯಲು", "ml": "സമതല"},
}
