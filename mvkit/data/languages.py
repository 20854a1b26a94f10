"""Language codes: one canonical ISO 639-1 code per language, and the aliases datasets use.

Datasets disagree on codes (Multi-YouCook2 writes Czech as ``cz``, VATEX calls Chinese
``ch``); every reader maps through :func:`normalize_lang` so the rest of mvkit sees one
code per language, and an unknown code is an error that names where it came from.
"""
from __future__ import annotations

import re
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

# English language names, as some releases spell them in file names (RUDDER's
# ``raw-captions_marathi.pickle``)
NAMES: dict[str, str] = {lang.name.lower(): lang.code for lang in LANGUAGES.values()}


def normalize_lang(code: str, source: str | None = None) -> str:
    """Return the canonical code for ``code`` (a code, an alias or an English name such as
    ``"marathi"``); raise ``ValueError`` naming ``source`` if unknown."""
    c = str(code).strip().lower().replace(" ", "")
    c = ALIASES.get(c, NAMES.get(c, c))
    if c not in LANGUAGES:
        where = f"{source}: " if source else ""
        raise ValueError(
            f"{where}unknown language code {code!r}; known: {', '.join(sorted(LANGUAGES))} "
            f"(aliases: {', '.join(sorted(ALIASES))})"
        )
    return c


# --------------------------------------------------------------------------- scripts
# Letters of each script (ISO 15924 names as in LANGUAGES), for a cheap check that a
# caption is written in the script of the language it is declared in.
SCRIPT_CHARS: dict[str, str] = {
    "Latn": "A-Za-z\u00c0-\u024f\u1e00-\u1eff",
    "Cyrl": "\u0400-\u04ff",
    "Hans": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "Jpan": "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff",
    "Deva": "\u0900-\u097f",
    "Taml": "\u0b80-\u0bff",
    "Telu": "\u0c00-\u0c7f",
    "Knda": "\u0c80-\u0cff",
    "Mlym": "\u0d00-\u0d7f",
}
SCRIPT_NAMES = {"Latn": "Latin", "Cyrl": "Cyrillic", "Hans": "CJK", "Jpan": "Japanese", "Deva": "Devanagari",
                "Taml": "Tamil", "Telu": "Telugu", "Knda": "Kannada", "Mlym": "Malayalam"}


_SCRIPT_RE = {k: re.compile(f"[{v}]") for k, v in SCRIPT_CHARS.items()}
_NON_LATIN_RE = re.compile("[" + "".join(v for k, v in SCRIPT_CHARS.items() if k != "Latn") + "]")


def script_mismatch(text: str, lang: str) -> str | None:
    """The script ``text`` is written in when it is not that of ``lang`` (else None).

    One regular-expression search per caption: a Latin-script language is flagged when
    the text holds letters of another script (Devanagari in a caption declared English),
    any other language when the text holds none of its own script's letters. Scripts
    mvkit does not know (and texts without letters) are never flagged.
    """
    script = LANGUAGES[lang].script
    if script == "Latn":
        return None if _NON_LATIN_RE.search(text) is None else dominant_script(text)
    if _SCRIPT_RE[script].search(text):
        return None
    return dominant_script(text)


def dominant_script(text: str) -> str | None:
    """The known script with the most letters in ``text`` (None without any)."""
    counts = {s: len(_SCRIPT_RE[s].findall(text)) for s in SCRIPT_CHARS if s != "Jpan"}
    best = max(counts, key=counts.get)
    return best if counts[best] else None
