"""The claims table from saved ranks: hand-computed paired differences, interaction, verdicts, files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mvkit.analysis.run_ranks import Ranks, write_ranks
from mvkit.experiments.ablations import interaction_test, paired, per_language_compare
from mvkit.experiments.claims import (
    Comparison,
    evaluate_claims,
    sound_queries,
    table_markdown,
    verdict,
    write_outputs,
)


def _save(run_dir, ranks, langs=None, ids=None):
    run_dir.mkdir(parents=True, exist_ok=True)
    n = len(ranks)
    ids = ids or [f"q{i}" for i in range(n)]
    write_ranks(run_dir / "ranks.json", Ranks(ids, langs or ["en"] * n, np.asarray(ranks)))
    return run_dir


def test_paired_difference_is_hand_computable(tmp_path):
    # A: ranks 1,1,1,5 -> R1 = 75%; B: 2,1,3,3 -> R1 = 25%; same queries in another order.
    a = _save(tmp_path / "a", [1, 1, 1, 5])
    b = _save(tmp_path / "b", [3, 3, 1, 2], ids=["q3", "q2", "q1", "q0"])
    row = paired(a, b, metric="R1", n_boot=500)
    assert (row["A"], row["B"], row["diff"], row["n_queries"]) == (75.0, 25.0, 50.0, 4)
    assert row["low"] <= 50.0 <= row["high"]
    # R5 counts ranks <= 5: A 100%, B 100%
    assert paired(a, b, metric="R5")["diff"] == 0.0


def test_paired_pools_seeds_and_refuses_different_queries(tmp_path):
    a0, a1 = _save(tmp_path / "s0/a", [1, 2]), _save(tmp_path / "s1/a", [1, 1])
    b0, b1 = _save(tmp_path / "s0/b", [2, 2]), _save(tmp_path / "s1/b", [2, 1])
    row = paired([a0, a1], [b0, b1], metric="R1")
    assert (row["A"], row["B"], row["n_queries"]) == (75.0, 25.0, 4)
    other = _save(tmp_path / "c", [1, 1], ids=["x", "y"])
    with pytest.raises(ValueError, match="different queries"):
        paired(a0, other)


def test_per_language_and_query_subsets(tmp_path):
    a = _save(tmp_path / "a", [1, 1, 4, 1], langs=["en", "de", "de", "fr"])
    b = _save(tmp_path / "b", [1, 2, 1, 1], langs=["en", "de", "de", "fr"])
    df = per_language_compare(a, b)
    got = dict(zip(df["language"], df["diff"]))
    assert got == {"de": 0.0, "en": 0.0, "fr": 0.0}
    # keep only q1 (de): A hit, B miss
    assert paired(a, b, keep={"q1"})["diff"] == 100.0


def test_interaction_is_difference_of_differences(tmp_path):
    # robust A: low 2/4 hits, high 2/4 (change 0); baseline B: low 3/4, high 1/4 (change -50)
    al, ah = _save(tmp_path / "al", [1, 1, 2, 2]), _save(tmp_path / "ah", [1, 2, 1, 2])
    bl, bh = _save(tmp_path / "bl", [1, 1, 1, 2]), _save(tmp_path / "bh", [2, 2, 1, 2])
    res = interaction_test(al, ah, bl, bh, metric="R1", n_boot=500)
    assert (res["A"], res["B"], res["diff"]) == (0.0, -50.0, 50.0)
    assert res["low"] <= 50.0 <= res["high"] and 0 < res["p"] <= 1
    with pytest.raises(ValueError, match="mean metric"):
        interaction_test(al, ah, bl, bh, metric="MdR")


@pytest.mark.parametrize("diff,low,high,p,want", [(2.0, 0.5, 3.0, 0.01, "reproduced"),
                                                  (2.0, 0.5, 3.0, 0.13, "inconclusive"),
                                                  (2.0, -0.5, 3.0, 0.01, "inconclusive"),
                                                  (0.0, -1.0, 1.0, 1.0, "not reproduced"),
                                                  (-2.0, -3.0, -1.0, 0.01, "not reproduced")])
def test_verdict(diff, low, high, p, want):
    assert verdict(diff, low, high, p) == want


def test_table_from_saved_runs(tmp_path):
    out = tmp_path / "claims"
    ids = ["v1#en#0", "v2#en#0", "v3#en#0", "v4#de#0"]
    langs = ["en", "en", "en", "de"]
    _save(out / "seed0/en_vsepp", [1, 1, 1, 1], langs, ids)
    _save(out / "seed0/en_vse", [1, 3, 2, 1], langs, ids)
    comps = [Comparison(1, "VSE++ beats the summed hinge", "en_vsepp", "en_vse", "en"),
             Comparison(2, "sound", "en_vsepp", "en_vse", "en-sound")]
    rows = evaluate_claims(out, comps, sound={"v2#en#0"}, seeds=[0], n_boot=200)
    r = rows[0]
    # English queries only: A = 3/3 hits, B = 1/3 -> diff = 66.67
    assert r["comparison"] == "en_vsepp vs en_vse" and r["n_queries"] == 3
    assert r["A"] == pytest.approx(100.0) and r["B"] == pytest.approx(100 / 3)
    assert r["diff"] == pytest.approx(200 / 3)
    assert rows[1]["n_queries"] == 1 and rows[1]["diff"] == 100.0
    meta = {"command": "mvkit claims --out x", "world": "w", "n_videos": 4, "encoder": "e",
            "weights_sha256": "abc", "epochs": 1, "seeds": 1}
    j, m = write_outputs(out, rows, meta)
    saved = json.loads(j.read_text())
    assert saved["rows"][0]["diff"] == pytest.approx(200 / 3) and saved["protocol"]["world"] == "w"
    md = m.read_text()
    assert "| 1 | VSE++ beats the summed hinge | en_vsepp vs en_vse | en (3) | R1 | 100.0 | 33.3 | +66.7 [" in md
    assert table_markdown(rows).count("\n") == 4


def test_sound_queries_use_caption_mentions():
    from mvkit.data.records import CaptionRecord

    caps = [CaptionRecord("a", "v", "en", "a metal ball", "human", None, {"object": {"material": "metal"}}),
            CaptionRecord("b", "v", "en", "it rings", "human", None, {"sound": "ring"}),
            CaptionRecord("c", "v", "en", "a red ball", "human", None, {"object": {"color": "red"}})]

    class D:
        captions = caps
    assert sound_queries(D()) == {"a", "b"}


@pytest.mark.slow
def test_smoke_command_end_to_end(tmp_path, monkeypatch):
    """`mvkit claims --smoke --only 1` on the smoke world: table structure and one diff by hand."""
    from mvkit import backbone

    if not (backbone.ASSET_DIR / "open_clip_model.safetensors").exists():
        pytest.skip("the shipped mvkit-tiny checkpoint is not built yet (mvkit pretrain-tiny)")
    from mvkit.experiments.claims import main

    monkeypatch.setenv("MVKIT_SMOKE", "1")
    out = tmp_path / "claims"
    assert main(["--out", str(out), "--smoke", "--only", "1", "--n-boot", "200"]) == 0
    saved = json.loads((out / "claims.json").read_text())
    assert [r["comparison"] for r in saved["rows"]] == ["en_vsepp vs en_vse", "en_wrank vs en_vse"]
    assert saved["protocol"]["selection_split"] == "val"
    hits = {}
    for name in ("en_vsepp", "en_vse"):
        d = json.loads((out / "seed0" / name / "ranks.json").read_text())
        en = [r for r, l in zip(d["t2v"], d["langs"]) if l == "en"]
        hits[name] = 100.0 * sum(r == 1 for r in en) / len(en)
        assert json.loads((out / "seed0" / name / "run.json").read_text())["selection"]["split"] == "val"
    row = saved["rows"][0]
    assert row["diff"] == pytest.approx(hits["en_vsepp"] - hits["en_vse"])
    assert row["verdict"] == verdict(row["diff"], row["low"], row["high"], row["p"])   # the rule, on this row
    assert row["low"] <= row["diff"] <= row["high"]
    assert "| 1 | VSE++ beats the summed hinge |" in (out / "claims.md").read_text()
