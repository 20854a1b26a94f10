import pytest

from mvkit.grounding.world import generate_grounding_world

GWORLD_VIDEOS = 16
GWORLD_OPTIONS = {"duration": (9.0, 11.0), "languages": ("en", "de", "hi")}


@pytest.fixture(scope="session")
def gworld(tmp_path_factory):
    """A small grounding world shared by the grounding tests (single process: deterministic).

    Shorter clips and three languages than the default world keep the tests' feature
    extraction to seconds; the generator and the code paths are the same.
    """
    out = tmp_path_factory.mktemp("gworld") / "w"
    generate_grounding_world(out, GWORLD_VIDEOS, seed=5, workers=1, **GWORLD_OPTIONS)
    return out


@pytest.fixture(scope="session")
def gstore(gworld):
    """Its clip-level mvkit-tiny features (video and every language's text)."""
    import torch

    from mvkit.grounding.features import ensure_clip_store

    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny encoder on a shared CPU: one thread is fastest
    try:
        return ensure_clip_store(gworld, num_workers=0, progress=False, out=gworld / "features" / "clips")
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def gworld_spec():
    """``(n_videos, options)`` of :func:`gworld`, for tests that regenerate it."""
    return GWORLD_VIDEOS, GWORLD_OPTIONS


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small models on a shared 2-core CPU run several times faster on one thread."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
