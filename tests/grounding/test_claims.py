"""The claims table: verdict rule, markdown, comparisons refer to trained variants."""
from mvkit.grounding.claims import comparisons, to_markdown, verdict
from mvkit.grounding.experiment import variants


def test_verdict_rule():
    assert verdict(2.0, 0.5, 3.5, 0.01) == "reproduced"
    assert verdict(2.0, -0.5, 3.5, 0.2) == "inconclusive"
    assert verdict(-1.0, -2.0, 0.1, 0.3) == "not reproduced" and verdict(0.0, -1, 1, 1.0) == "not reproduced"
    assert verdict(-5.0, -7.0, -3.0, 0.001, lower=True) == "reproduced"     # fewer overlaps is the claim
    assert verdict(5.0, 3.0, 7.0, 0.001, lower=True) == "not reproduced"


def test_every_comparison_names_known_systems():
    names = {"floor", *variants(15)}
    for c in comparisons():
        assert c.a in names and c.b in names, c
    assert {c.claim for c in comparisons()} >= {"target", "1", "2", "3"}


def test_markdown_table():
    row = {"claim": "1", "title": "t", "a": "rgtr", "b": "detr", "queries": "en", "n": 10, "metric": "mAP",
           "lower": False, "a_value": 30.0, "a_ci": [28.0, 32.0], "b_value": 25.0, "b_ci": [23.0, 27.0],
           "difference": 5.0, "diff_ci": [2.0, 8.0], "p_value": 0.004, "verdict": "reproduced"}
    res = {"protocol": {"train": "x", "test": "y", "selection": "val", "ranking": "r", "epochs": 15, "seeds": [0],
                        "intervals": "i"}, "rows": [row],
           "per_language": [{"language": "en", "n": 10, **{k: [1.0, 0.5, 1.5] for k in ("floor", "detr", "rgtr", "rgtr_tt")}}]}
    md = to_markdown(res)
    assert "| 1 | t: rgtr vs detr | en (n=10) | mAP | 30.0 [28.0, 32.0] | 25.0 [23.0, 27.0] | 5.0 [2.0, 8.0] | 0.004 | reproduced |" in md
    assert "| en | 10 | 1.0 [0.5, 1.5] |" in md
