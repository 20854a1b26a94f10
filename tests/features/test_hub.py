"""Hub lookups offline: a text tower whose hub files are not cached fails at once, in one line.

The hub is made unreachable by the test (``hub_reachable`` -> False), so the result does not
depend on the machine's network; the retry-online path is checked with a fake build.
"""
from __future__ import annotations

import json
import time

import open_clip
import pytest

pytest.importorskip("transformers")

from mvkit.features import hub
from mvkit.features.encoders import create_encoder

from .conftest import tiny_xlmr_clip_config


@pytest.fixture
def no_network(monkeypatch):
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: False)
    for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(v, raising=False)


def test_hf_tower_from_the_hub_fails_fast_with_one_line_saying_what_to_do(no_network):
    t0 = time.perf_counter()
    with pytest.raises(hub.HubUnavailable) as err:
        create_encoder("mvkit-tiny", text_model="xlm-roberta-base-ViT-B-32", device="cpu")
    assert time.perf_counter() - t0 < 20          # transformers' own retries take ~35 s
    msg = str(err.value)
    assert "\n" not in msg and "'xlm-roberta-base'" in msg and "cannot be reached" in msg
    assert "mvkit export-encoder" in msg and "local-dir:" in msg
    assert isinstance(err.value, ValueError)      # bad input, as the CLIs report it


def test_user_switched_hub_off_is_named(monkeypatch, tmp_path):
    (tmp_path / "mvkit-test-hubonly.json").write_text(json.dumps(tiny_xlmr_clip_config("xlm-roberta-base")))
    open_clip.add_model_config(tmp_path / "mvkit-test-hubonly.json")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: pytest.fail("must not probe the hub"))
    with pytest.raises(hub.HubUnavailable, match=r"switched off \(HF_HUB_OFFLINE\)"):
        create_encoder("mvkit-test-hubonly", None, device="cpu")


def test_offline_first_retries_online_only_when_the_hub_answers(monkeypatch):
    import huggingface_hub.constants as c

    calls = []

    def build():
        calls.append(bool(c.HF_HUB_OFFLINE))
        if c.HF_HUB_OFFLINE:
            raise OSError("couldn't find them in the cached files (offline mode)")
        return "built online"

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: True)
    assert hub.offline_first(build, "m") == "built online" and calls == [True, False]
    assert not c.HF_HUB_OFFLINE                       # switched back after the block
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(hub.HubUnavailable, match="m: needs Hugging Face hub files"):
        hub.offline_first(build, "m")

    def broken():
        raise ValueError("bad config: embed_dim")        # nothing to do with the hub: raised as it is
    with pytest.raises(ValueError, match="bad config"):
        hub.offline_first(broken, "m")
