"""Temporal sentence grounding: *when* in a video does the sentence happen.

Retrieval asks which video a sentence describes; grounding asks which moment. This
subpackage adds the task to mvkit end to end, one idea per module:

* ``world``, ``scene``, ``queries`` -- the embedded grounding world (untrimmed clips with
  timed events, queries in 16 languages with their ground-truth windows);
* ``features`` -- clip-level features at a fixed rate in the decode-once feature store;
* ``spans`` (span geometry), ``metrics`` (R@k, mIoU, QVHighlights mAP, redundancy);
* ``data``, ``anchors``, ``matching``, ``losses``, ``models/`` (Moment-DETR-style baseline,
  RGTR, the sliding-window floor), ``evaluate``, ``train`` (``mvkit train-grounding``),
  ``claims`` (``mvkit claims-grounding``).

Readers for QVHighlights, Charades-STA and TACoS live with the other readers in
:mod:`mvkit.data.readers`.
"""
