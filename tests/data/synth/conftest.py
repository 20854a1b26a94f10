import pytest

from mvkit.data.synth import generate_world


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory):
    """A small world shared by the synth tests (single process: deterministic and quick)."""
    out = tmp_path_factory.mktemp("world") / "w"
    generate_world(out, 40, seed=3, workers=1)
    return out
