"""Grounding timelines: one row per query with frames, ground truth and each model's windows."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from mvkit.viz.timeline import Timeline, plot_timelines


def test_rows_bars_and_iou_labels():
    rows = [Timeline("a red circle spins", 12.0, [(2.0, 5.0)],
                     {"detr": [(2.0, 5.0), (2.5, 5.5)], "rgtr": [(8.0, 10.0)]},
                     np.zeros((6, 8, 8, 3), np.uint8), np.linspace(1, 11, 6)),
            Timeline("then it stops", 15.0, [(1.0, 3.0), (9.0, 12.0)], {"detr": [], "rgtr": [(9.0, 12.0)]})]
    fig = plot_timelines(rows, title="t")
    ax0, ax1 = fig.axes
    assert ax0.get_title(loc="left") == "a red circle spins" and ax0.get_xlim() == (0.0, 12.0)
    assert [t.get_text() for t in ax0.get_yticklabels()] == ["ground truth", "detr", "rgtr"]
    labels = sorted(t.get_text() for t in ax0.texts)
    assert labels == ["IoU 0.00", "IoU 1.00"]                      # top-1 window of each model
    assert len(ax0.images) == 6 and len(ax1.images) == 0          # frames drawn where given
    assert [t.get_text() for t in ax1.texts] == ["IoU 1.00"]      # the model without windows draws none
    plt.close(fig)
