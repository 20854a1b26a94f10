"""Retrieval models on cached features: heads, text side, expert fusion, and ``create_model``."""
from mvkit.models.factory import create_model, list_models, model_config, model_streams
from mvkit.models.fusion import RetrievalModel, VideoBatch
from mvkit.models.heads import (
                                ActivityHead,
                                CrossAttentionHead,
                                MeanHead,
                                PreviewIntensiveHead,
                                SeqTransfHead,
                                masked_mean,
)
from mvkit.models.text import TextBase, TextBatch, TextProjection

__all__ = [
                                "ActivityHead",
                                "CrossAttentionHead",
                                "MeanHead",
                                "PreviewIntensiveHead",
                                "RetrievalModel",
                                "SeqTransfHead",
                                "TextBase",
                                "TextBatch",
                                "TextProjection",
                                "VideoBatch",
                                "create_model",
                                "list_models",
                                "masked_mean",
                                "model_config",
                                "model_streams",
]
