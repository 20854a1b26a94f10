"""``mvkit demo`` end to end on the smoke world (the quick-start of notebook 00), in a temp MVKIT_HOME."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mvkit.data.synth import WORLD_LANGS


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Run the smoke quick-start once through the CLI entry point; return (out dir, stdout)."""
    import contextlib
    import io

    home = tmp_path_factory.mktemp("home")
    out = tmp_path_factory.mktemp("run") / "demo"
    mp = pytest.MonkeyPatch()
    mp.setenv("MVKIT_HOME", str(home))
    mp.setenv("MVKIT_SMOKE", "1")
    buf = io.StringIO()
    try:
        from mvkit.cli import main

        with contextlib.redirect_stdout(buf):
            rc = main(["demo", "--out", str(out)])
    finally:
        mp.undo()
    assert rc == 0
    return out, buf.getvalue()


def test_table_has_every_language_and_valid_recalls(demo_run):
    out, stdout = demo_run
    df = pd.read_csv(out / "results.csv")
    assert set(df.language) == set(WORLD_LANGS)                       # all 16 languages evaluated
    assert sorted(df.groupby("language").direction.apply(sorted).iloc[0]) == ["t2v", "v2t"]
    for m in ("R1", "R5", "R10"):
        assert df[m].between(0, 100).all()
        assert (df[f"{m}_low"] <= df[m] + 1e-9).all() and (df[m] <= df[f"{m}_high"] + 1e-9).all()
    assert (df.R1 <= df.R5).all() and (df.R5 <= df.R10).all()
    # smoke world: 40 test videos, one human caption per video and language (3 in English)
    t2v = df[df.direction == "t2v"].set_index("language")
    assert t2v.loc["en", "n_queries"] == 120 and t2v.loc["de", "n_queries"] == 40
    assert np.allclose(t2v.chance_R1, 100 / 40)
    for lang in ("en", "de", "zh"):
        assert f"\n{lang} " in stdout        # printed table has a row per language


def test_english_beats_chance(demo_run):
    """English text->video clearly better than a random ranking of the 40 test videos
    (chance: R@1 2.5%, median rank 20.5)."""
    out, _ = demo_run
    df = pd.read_csv(out / "results.csv")
    en = df[(df.language == "en") & (df.direction == "t2v")].iloc[0]
    assert en.R1 >= 2 * en.chance_R1, f"English R@1 {en.R1:.1f}% vs chance {en.chance_R1:.1f}%"
    assert en.R1_low > 0                  # the interval excludes 'never right'
    assert en.MdR_high < 20.5 / 2         # the whole median-rank interval beats chance by 2x


def test_the_other_languages_are_learnt(demo_run):
    """The bag text student learns the machine-translated languages: every language's median
    rank beats a random ranking's (20.5 of 40) by a quarter, and their median R@1 is > 3x chance."""
    out, _ = demo_run
    df = pd.read_csv(out / "results.csv")
    t2v = df[(df.direction == "t2v") & (df.language != "en")].set_index("language")
    assert (t2v.MdR < 0.75 * 20.5).all(), t2v.MdR.to_dict()
    assert t2v.R1.median() > 3 * t2v.chance_R1.iloc[0], t2v.R1.to_dict()


def test_run_record_protocol_and_recipe(demo_run):
    out, _ = demo_run
    rec = json.loads((out / "run.json").read_text())
    assert rec["protocol"]["selection_split"] == "val" and rec["protocol"]["eval_split"] == "test"
    cfg = rec["config"]
    assert cfg["head"] == "fusion" and cfg["loss"] == "infonce" and cfg["epochs"] == 3
    assert cfg["text_encoder"] == "bag" and rec["protocol"]["text_encoder"]["name"] == "bag"
    # translate-train: English human captions + machine translations into every other language
    assert sorted(cfg["train_select"]) == sorted(["en:human"] + [f"{l}:machine-translated"
                                                                 for l in WORLD_LANGS if l != "en"])
    assert sorted(rec["results"]) == sorted(WORLD_LANGS)
    assert 0 <= rec["selection"]["selected_epoch"] < 3
    assert (out / "best.safetensors").stat().st_size > 0


def test_failure_and_embedding_outputs(demo_run):
    out, _ = demo_run
    fail = json.loads((out / "failure.json").read_text())
    assert fail["lang"] == "en" and fail["true_rank"] > 1
    assert fail["true_video"] not in fail["top_k"][:1]
    assert fail["confused_attributes"]
    for name in ("failure.png", "embedding.png"):
        head = (out / name).read_bytes()[:8]
        assert head == b"\x89PNG\r\n\x1a\n"
