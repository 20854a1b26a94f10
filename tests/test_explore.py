"""explore: caption tables, translation chains, probes and manifests on hand-built datasets."""
from __future__ import annotations

import pytest

from mvkit import explore
from mvkit.data.records import CaptionRecord, PartialLabel, RetrievalDataset, VideoRecord


@pytest.fixture()
def ds(tmp_path):
    videos = [VideoRecord("a", "videos/a.mp4", "train"), VideoRecord("b", "videos/b.mp4", "test")]
    noise = {"noise": [{"op": "drop", "attr": "color", "tag": "ADJ", "destroyed": True},
                       {"op": "swap", "attr": "size", "tag": "ADJ", "destroyed": False}]}
    caps = [
        CaptionRecord("a#en#0", "a", "en", "a red disc", "human"),
        CaptionRecord("a#en#1", "a", "en", "a disc that is red", "human"),
        CaptionRecord("a#en2de#0", "a", "de", "eine Scheibe", "machine-translated", "a#en#0", noise),
        CaptionRecord("a#en2de2en#0", "a", "en", "a disc", "back-translated", "a#en2de#0", noise),
        CaptionRecord("b#en#0", "b", "en", "a blue cross", "human"),
        CaptionRecord("b#hi#0", "b", "hi", "एक नीला क्रॉस", "human"),
        CaptionRecord("rudder:b#en#object", "b", "en", "a blue cross stays", "human"),
    ]
    pl = [PartialLabel("b", "b#en#0", 0), PartialLabel("b", "rudder:b#en#object", 1)]
    return RetrievalDataset("toy", tmp_path, videos, caps, pl)


def test_caption_counts_english_first_and_by_split(ds):
    t = explore.caption_counts(ds)
    assert list(t.index) == ["en", "de", "hi"]
    assert list(t.columns) == ["human", "machine-translated", "back-translated"]
    assert t.loc["en"].tolist() == [4, 0, 1] and t.loc["de"].tolist() == [0, 1, 0]
    train = explore.caption_counts(ds, split="train")
    assert list(train.index) == ["en", "de"] and train.loc["en", "human"] == 2


def test_language_table_names_scripts(ds):
    t = explore.language_table(ds)
    assert list(t.index) == ["en", "de", "hi"]
    assert t.loc["hi", "script"] == "Deva" and t.loc["de", "nllb"] == "deu_Latn"


def test_translation_chain_follows_source_ids_and_lists_destroyed_noise(ds):
    assert explore.translated_example(ds) == "a#en#0"
    chain = explore.translation_chain(ds, "a#en#0")
    assert list(chain.index) == ["a#en#0", "a#en2de#0", "a#en2de2en#0"]
    assert chain.loc["a#en2de#0", "damaged"] == "drop:color"     # the swap did not destroy anything
    assert chain.loc["a#en#0", "damaged"] == "-"
    with pytest.raises(KeyError, match="no caption"):
        explore.translation_chain(ds, "nope")


def test_partial_probes_labels(ds):
    t = explore.partial_probes(ds, "b")
    assert t["label"].tolist() == ["0 (positive)", "1 (partial)"]
    empty = explore.partial_probes(RetrievalDataset("x", ds.root, ds.videos, ds.captions))
    assert empty.empty


def test_manifest_table_lists_shipped_manifests():
    t = explore.manifest_table()
    assert {"msrvtt", "vatex", "multi_msrvtt"} <= set(t.index)
    assert t.loc["msrvtt", "languages"] == "en"
    assert t.loc["msrvtt", "splits"] == "train 8500, val 500, test 1000"


def test_subset_languages_keeps_order():
    assert explore.subset_languages(["zh", "en", "xx"], ["en", "zh"]) == ["zh", "en"]
