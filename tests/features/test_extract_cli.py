"""`mvkit extract` and ensure_store, with the encoder factory and loader swapped for fakes."""
import numpy as np
import pytest

from mvkit.features import extract
from mvkit.features.store import ProvenanceMismatch, open_store

from .conftest import FakeEncoder


@pytest.fixture
def fakes(monkeypatch, toy_world):
    calls = []

    def create_encoder(model, pretrained=None, **kw):
        enc = FakeEncoder(name=model)
        enc.weights_sha256 = (pretrained or "0") * 64   # the checkpoint decides the weights hash
        calls.append((model, pretrained, enc))
        return enc

    monkeypatch.setattr("mvkit.features.encoders.create_encoder", create_encoder)
    monkeypatch.setattr("mvkit.data.load", lambda path, **kw: toy_world)
    return calls


def test_cli_builds_a_store_with_text(fakes, tmp_path, capsys):
    out = tmp_path / "s"
    assert extract.main(["--data", "x", "--encoder", "fake", "--out", str(out), "--frames", "4",
                         "--workers", "0", "--videos-per-shard", "5", "--batch-size", "3"]) == 0
    store = open_store(out, expect={"encoder": "fake", "num_frames": 4})
    assert len(store.video_ids) == 10 and len(store.skipped) == 3
    assert store.text_langs == ["en", "hi"]
    printed = capsys.readouterr().out
    assert "10 videos" in printed and "3 skipped" in printed


def test_cli_shards_split_one_extraction(fakes, tmp_path, capsys):
    out = tmp_path / "s"
    args = ["--data", "x", "--encoder", "fake", "--out", str(out), "--frames", "4", "--workers", "0",
            "--videos-per-shard", "3"]
    assert extract.main(args + ["--shard", "0/2"]) == 0
    assert "when every --shard has run" in capsys.readouterr().out
    assert extract.main(args + ["--shard", "1/2"]) == 0
    store = open_store(out)
    assert len(store.video_ids) == 10 and store.text_langs == ["en", "hi"]


def test_ensure_store_builds_once_and_reuses(fakes, tmp_path):
    world = tmp_path / "world"
    world.mkdir()
    p = extract.ensure_store(world, encoder="fake-enc", num_frames=4, num_workers=0, progress=False)
    assert p == world / "features" / "fake-enc-f4-w0000000000"
    first = open_store(p)
    a = first.frames("v03")
    assert extract.ensure_store(world, encoder="fake-enc", num_frames=4, progress=False) == p
    assert fakes[-1][2].calls == 0                           # second call reused the store: no encoding
    np.testing.assert_array_equal(open_store(p).frames("v03"), a)
    assert open_store(p).text_langs == ["en", "hi"]
    # keyed by what the store holds, never by how the weights were spelled
    assert extract.store_dir_name("ViT-B-32", 8) == "ViT-B-32-f8"
    assert extract.store_dir_name("ViT-B-32", 8, "ab" * 8, "local-dir:/data/towers/xlmr-b32/") == \
        "ViT-B-32+xlmr-b32-f8-wababababab"           # a local-dir: tower by its folder's name
    assert extract.store_dir_name("mvkit-tiny", 8, "0123456789abcdef", "mvkit-tiny-ml") == \
        "mvkit-tiny+mvkit-tiny-ml-f8-w0123456789"


def test_cli_default_out_is_where_ensure_store_looks(fakes, tmp_path):
    data = tmp_path / "world"
    data.mkdir()
    assert extract.main(["--data", str(data), "--encoder", "fake", "--frames", "4", "--workers", "0"]) == 0
    store = open_store(data / "features" / "fake-f4-w0000000000")
    assert len(store.video_ids) == 10 and store.text_langs == ["en", "hi"]
    # ensure_store (and so the notebooks) finds what `mvkit extract` wrote: nothing is encoded again
    assert extract.ensure_store(data, encoder="fake", num_frames=4, progress=False) == store.path
    assert fakes[-1][2].calls == 0


def test_a_cli_store_of_every_language_is_reused_by_ensure_dataset_store(fakes, toy_world, tmp_path):
    out = tmp_path / "s"
    assert extract.main(["--data", "x", "--encoder", "fake", "--out", str(out), "--frames", "4",
                         "--workers", "0"]) == 0
    assert extract.ensure_dataset_store(toy_world, out, "fake", num_frames=4, progress=False) == out
    assert fakes[-1][2].calls == 0              # complete: the second call encoded nothing
    with pytest.raises(ProvenanceMismatch, match="'encoder'"):
        extract.ensure_dataset_store(toy_world, out, "other", num_frames=4, progress=False)


def test_new_weights_never_reuse_or_overwrite_old_features(fakes, toy_world, tmp_path):
    """A new checkpoint of the same encoder gets its own store; a named store refuses it."""
    world = tmp_path / "world"
    world.mkdir()
    old = extract.ensure_store(world, encoder="fake", pretrained="1", num_frames=4, num_workers=0, progress=False)
    new = extract.ensure_store(world, encoder="fake", pretrained="2", num_frames=4, num_workers=0, progress=False)
    assert old != new and old.name.endswith("-w1111111111") and new.name.endswith("-w2222222222")
    assert open_store(old).provenance["weights_sha256"] == "1" * 64
    out = tmp_path / "named"
    extract.ensure_dataset_store(toy_world, out, "fake", "1", num_frames=4, num_workers=0, progress=False)
    with pytest.raises(ProvenanceMismatch, match="weights_sha256"):
        extract.ensure_dataset_store(toy_world, out, "fake", "2", num_frames=4, progress=False)


def test_cli_write_failures_are_one_line_naming_path_and_cause(fakes, tmp_path, capsys, monkeypatch):
    import errno

    from mvkit.cli import main as mvkit_main
    from mvkit.features.store import StoreWriter

    def full_disk(self, k, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.path / "shards" / f".tmp-{k:05d}-x"))

    monkeypatch.setattr(StoreWriter, "write_shard", full_disk)
    out = tmp_path / "s"
    assert mvkit_main(["extract", "--data", "x", "--encoder", "fake", "--out", str(out), "--frames", "4",
                       "--workers", "0"]) == 1
    err = capsys.readouterr().err          # (the progress bar writes to stderr too)
    assert err.endswith(f"\nmvkit extract: {out}/shards/.tmp-00000-x: no space left on device\n")
    assert "Traceback" not in err
    (tmp_path / "file").write_text("")
    assert mvkit_main(["extract", "--data", "x", "--encoder", "fake", "--out", str(tmp_path / "file" / "s")]) == 1
    assert capsys.readouterr().err.startswith(f"mvkit extract: {tmp_path / 'file' / 's'}")
