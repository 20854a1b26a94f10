"""Language codes: one canonical ISO 639-1 code per language, and the aliases datasets use.

Datasets disagree on codes (Multi-YouCook2 writes Czech as ``cz``, VATEX calls Chinese
``ch``); every reader maps through :func:`normalize_lang` so the rest of mvkit sees one
code per language, and an unknown code is an error that names where it came from.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str          # canonical ISO 639-1 code
    name: str
    script: str        # ISO 15924 script name
    nllb: str          # NLLB / FLORES-200 code, for NLLB text towers


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in [
        Language("en", "English", "Latn", "eng_Latn"),
        Language("de", "German", "Latn", "deu_Latn"),
        Language("fr", "French", "Latn", "fra_Latn"),
        Language("es", "Spanish", "Latn", "spa_Latn"),
        Language("cs", "Czech", "Latn", "ces_Latn"),
        Language("ru", "Russian", "Cyrl", "rus_Cyrl"),
        Language("zh", "Chinese", "Hans", "zho_Hans"),
        Language("vi", "Vietnamese", "Latn", "vie_Latn"),
        Language("sw", "Swahili", "Latn", "swh_Latn"),
        Language("ja", "Japanese", "Jpan", "jpn_Jpan"),
        Language("hi", "Hindi", "Deva", "hin_Deva"),
        Language("mr", "Marathi", "Deva", "mar_Deva"),
        Language("ta", "Tamil", "Taml", "tam_Taml"),
        Language("te", "Telugu", "Telu", "tel_Telu"),
        Language("kn", "Kannada", "Knda", "kan_Knda"),
        Language("ml", "Malayalam", "Mlym", "mal_Mlym"),
    ]
}

ALIASES: dict[str, str] = {
    "cz": "cs", "ch": "zh", "cn": "zh", "zh-cn": "zh", "zh_cn": "zh", "chs": "zh",
    "jp": "ja", "eng": "en", "hin": "hi", "mar": "mr", "tam": "ta", "tel": "te",
    "kan": "kn", "mal": "ml",
}

MULTI_MSRVTT = ("en", "de", "fr", "es", "cs", "ru", "zh", "vi", "sw")
RUDDER = ("hi", "mr", "ta", "te", "kn", "ml")


def normalize_lang(code: str, source: str | None = None) -> str:
    """Return the canonical code for ``code``; raise ``ValueError`` naming ``source`` if unknown."""
    c = str(code).strip().lower().replace(" ", "")
    c = ALIASES.get(c, c)
    if c not in LANGUAGES:
        where = f"{source}: " if source else ""
        raise ValueError(
            f"{where}unknown language code {code!r}; known: {', '.join(sorted(LANGUAGES))} "
            f"(aliases: {', '.join(sorted(ALIASES))})"
        )
    return c
