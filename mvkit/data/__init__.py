"""Datasets: the embedded world and readers for the real benchmarks, one record shape for all."""
from mvkit.data.records import CaptionRecord, PartialLabel, RetrievalDataset, VideoRecord

__all__ = ["CaptionRecord", "PartialLabel", "RetrievalDataset", "VideoRecord"]
