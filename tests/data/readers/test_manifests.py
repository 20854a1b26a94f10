import hashlib
import json

import pytest

from mvkit.data.languages import LANGUAGES
from mvkit.data.manifests import (
    fill_checksums,
    list_manifests,
    load_manifest,
    sha256_file,
    validate_manifest,
    verify,
)

EXPECTED = {"embedded", "msrvtt", "msrvtt_cn", "msvd", "msvd_cn", "multi_msrvtt", "multi_youcook2", "rudder",
            "vatex", "qvhighlights", "charades_sta", "tacos"}


def test_every_dataset_has_a_valid_manifest():
    assert set(list_manifests()) == EXPECTED
    for name in EXPECTED:
        m = load_manifest(name)
        assert all(l in LANGUAGES for l in m["languages"])
        for s in m["sources"]:   # no invented checksums: null always comes with a note
            assert s["sha256"] is None and s["sha256_note"]


def test_msrvtt_split_sizes_add_up():
    v = load_manifest("msrvtt")["variants"]
    assert v["9k"]["splits"] == {"train": 8500, "val": 500, "test": 1000}
    assert v["9k"]["splits"]["train"] + v["9k"]["splits"]["val"] == 9000
    assert v["7k"]["splits"]["train"] + v["7k"]["splits"]["val"] == 7010
    assert sum(v["full"]["splits"].values()) == 10000 and v["full"]["splits"]["test"] == 2990


def test_language_facts():
    assert load_manifest("multi_msrvtt")["languages"] == ["en", "de", "fr", "es", "cs", "ru", "zh", "vi", "sw"]
    yc = load_manifest("multi_youcook2")
    assert yc["language_codes"] == {"cz": "cs"} and len(yc["languages"]) == 9 and "sw" not in yc["languages"]
    assert set(load_manifest("rudder")["languages"]) >= {"hi", "mr", "ta", "te", "kn", "ml"}
    assert load_manifest("vatex")["variants"]["retrieval"]["splits"] == {"train": 25991, "val": 1500, "test": 1500}


def _manifest(**over):
    m = json.loads(json.dumps(load_manifest("msvd")))
    m.pop("_path")
    m.update(over)
    return m


@pytest.mark.parametrize("change,msg", [
    ({"languages": ["cz"]}, "'languages' must use canonical codes; 'cz' -> 'cs'"),
    ({"reader": "nope"}, "unknown reader 'nope'"),
    ({"default_variant": "x"}, "default_variant 'x' not in variants"),
    ({"sources": [{"url": "u", "sha256": None}]}, r"sources\[0\] has sha256 null without a 'sha256_note'"),
    ({"sources": [{"url": "u", "sha256": "abc"}]}, r"sources\[0\] sha256 must be 64"),
    ({"language_codes": {"cz": "en"}}, "language_codes 'cz' -> 'en' is inconsistent"),
])
def test_validation_errors(change, msg):
    with pytest.raises(ValueError, match="m.json: " + msg):
        validate_manifest(_manifest(**change), "m.json")


def test_missing_field_named():
    m = _manifest()
    del m["licence"]
    with pytest.raises(ValueError, match=r"m.json: missing fields \['licence'\]"):
        validate_manifest(m, "m.json")


def test_sha256_known_value(tmp_path):
    p = tmp_path / "abc"
    p.write_bytes(b"abc")
    assert sha256_file(p, chunk=2) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_verify_and_fill(tmp_path):
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "b.txt").write_text("beta")
    good = hashlib.sha256(b"alpha").hexdigest()
    m = _manifest(sources=[
        {"file": "a.txt", "url": "u", "sha256": good},
        {"file": "b.txt", "url": "u", "sha256": "0" * 64},
        {"file": "c.txt", "url": "u", "sha256": None, "sha256_note": "none published"},
        {"file": "d.txt", "url": "u", "sha256": None, "sha256_note": "none published"},
        {"file": None, "url": "u", "sha256": None, "sha256_note": "archive"},
    ])
    (tmp_path / "c.txt").write_text("gamma")
    r = verify(m, tmp_path)
    assert {k: v["status"] for k, v in r.items()} == {"a.txt": "ok", "b.txt": "mismatch", "c.txt": "unchecked", "d.txt": "missing"}
    assert r["c.txt"]["sha256"] == hashlib.sha256(b"gamma").hexdigest()
    with pytest.raises(ValueError, match=r"files failing the msvd manifest: \{'b.txt': 'mismatch', 'd.txt': 'missing'\}"):
        verify(m, tmp_path, strict=True)
    filled = fill_checksums(m, tmp_path)
    assert [s["sha256"] for s in filled["sources"]] == [good, "0" * 64, hashlib.sha256(b"gamma").hexdigest(), None, None]
    validate_manifest(filled, "filled")
    assert m["sources"][2]["sha256"] is None   # the input is not modified


def _regex(pattern: str):
    """A ``reads`` file pattern as a regex: ``<x>`` / ``{x}`` any name, ``{a,b}`` a choice, ``[...]`` optional."""
    import re
    out = re.escape(pattern)
    out = re.sub(r"\\\[(.*?)\\\]", r"(?:\1)?", out)
    out = re.sub(r"\\\{([^,]*?)\\\}", "<x>", out)
    out = re.sub(r"\\\{(.*?)\\\}", lambda m: "(?:" + m.group(1).replace(",", "|").replace("\\ ", "") + ")", out)
    out = re.sub(r"<[^>]*>", "[^/]+", out)
    return re.compile(f"^{out}$")


# committed fixtures written in each release's layout, and which layout of the manifest they are
FIXTURE_OF = {"msrvtt": ("msrvtt", None), "msrvtt_cn": ("msrvtt_cn", None), "msvd": ("msvd", None),
              "multi_msrvtt": ("multi_msrvtt", "json"), "rudder": ("rudder", "json"), "vatex": ("vatex", None)}


def test_every_manifest_says_which_release_files_its_reader_takes():
    from pathlib import Path
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    for name in EXPECTED:
        reads = load_manifest(name)["reads"]
        assert reads and all(r["file"] and r["what"] for r in reads), name
        if name not in FIXTURE_OF:
            continue
        folder, layout = FIXTURE_OF[name]
        files = [str(p.relative_to(fixtures / folder)) for p in (fixtures / folder).rglob("*") if p.is_file()]
        for r in reads:
            if not r["required"] or r.get("layout", layout) != layout:
                continue
            alternatives = [_regex(a.strip()) for a in r["file"].split("|")]
            assert any(rx.match(f) for rx in alternatives for f in files), (name, r["file"], files)


def test_reads_pattern_matcher():
    rx = _regex("TextData/msrvttcn{train,val,test}[_<variant>].caption.txt")
    assert rx.match("TextData/msrvttcntrain.caption.txt") and rx.match("TextData/msrvttcnval_google_zh2enc.caption.txt")
    assert not rx.match("TextData/msrvttcnfoo.caption.txt")
    assert _regex("test_{lang}.json").match("test_de.json") and _regex("{train,test}_x").match("test_x")
    with pytest.raises(ValueError, match=r"m.json: reads\[0\] needs 'file' and 'what'"):
        validate_manifest(_manifest(reads=[{"file": "x"}]), "m.json")
