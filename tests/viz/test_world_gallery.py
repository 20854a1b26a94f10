"""End to end on a tiny embedded world: ground-truth failures, real MP4 key frames, figures."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mvkit.analysis import failures as F
from mvkit.viz import gallery as G

KNOWN = {"color", "shape", "size", "texture", "motion", "speed", "sound", "order",
         F.LANGUAGE_NOISE, F.INDISTINGUISHABLE}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from mvkit.data.synth import world as synth

    path = synth.generate_world(tmp_path_factory.mktemp("world") / "w", n_videos=10, seed=0, workers=1)
    ds = synth.load_world(path)
    return ds.subset(langs=["en", "de", "hi"])


def test_failures_on_world_ground_truth(world):
    caps, vids = world.captions, world.videos
    rng = np.random.default_rng(0)
    sim = rng.normal(size=(len(caps), len(vids)))
    df = F.failure_table(sim, caps, vids)
    # brute force: a query fails when some other video scores at least as high as its own
    own = np.array([[v.video_id == c.video_id for v in vids] for c in caps])
    brute = [q for q in range(len(caps)) if (sim[q][~own[q]] >= sim[q][own[q]].max()).any()]
    assert df["query"].tolist() == brute
    assert set().union(*df["confused"]) <= KNOWN
    # every confused attribute is one the caption mentions, and a confused sound really differs
    mentions = {"color": "object", "shape": "object", "size": "object", "texture": "object",
                "motion": "events", "speed": "events", "order": "order", "sound": "sound"}
    for row in df.itertuples():
        cap = caps[row.query]
        wrong = next(v for v in vids if v.video_id == row.wrong_video_id)
        m = cap.attributes
        for a in row.confused:
            if a == "sound":      # a sound, or a material (heard, not seen), the wrong clip does not have
                materials = {o.get("material") for o in wrong.attributes["objects"]}
                assert ("sound" in m and m["sound"] != wrong.attributes["sound"]) or \
                    any(o.get("material") not in (None, *materials) for o in (m.get("object"), m.get("object2")) if o) \
                    or any("material" in (o or {}) for o in (m.get("object"), m.get("object2")))
            elif a in ("color", "shape", "size", "texture"):
                said = [o.get(a) for o in (m.get("object"), m.get("object2")) if o]
                assert any(said) and not all(any(ob.get(a) == x for ob in wrong.attributes["objects"]) for x in said if x) \
                    or a in m.get("object", {}) or a in m.get("object2", {})
            elif a in mentions:
                assert mentions[a] in m or f"{mentions[a]}2" in m, (a, m)
    groups = F.group_failures(df)
    assert groups["total"].sum() == sum(len(c) for c in df["confused"])
    fig = G.failure_bar_chart(groups)
    assert len(fig.axes[0].patches) == len(groups) * (groups.shape[1] - 1)
    plt.close(fig)


def test_gallery_decodes_world_clips(world):
    caps, vids = world.captions, world.videos
    sim = np.random.default_rng(1).normal(size=(len(caps), len(vids)))
    frames = G.FrameSource(world, num_frames=3)
    q = next(i for i, c in enumerate(caps) if c.lang == "en")
    j = F.counterpart(caps, q, "hi")
    views = [F.query_view(sim, i, 3, captions=caps, videos=vids) for i in (q, j)]
    fig = G.render_cross_language(views, frames)
    assert not frames.errors
    strip = fig.axes[0].images[0].get_array()
    assert strip.shape == (64, 3 * 64 + 2 * 2, 3) and strip.std() > 0     # real, non-blank pixels
    assert "[hi" in fig.subfigs[1]._suptitle.get_text()
    plt.close(fig)
    html = G.rows_html(views, frames)
    assert html.count("<img") == sum(len(G._tiles(v)) for v in views)
