"""Retrieval models on cached features: heads, text side, expert fusion, and ``create_model``."""
from mvkit.models.factory import create_model, list_models, model_config, model_streams
from mvkit.models.fusion import RetrievalModel, VideoBatch
from mvkit.models.heads import (ActivityHead, CrossAttentionHead, MeanHead, PreviewIntensiveHead,
                                SeqTransfHead, masked_mean)
from mvkit.models.text import TextBase, TextBatch, TextProjection

__all__ = ["create_model", "list_models", "model_config", "model_streams", "RetrievalModel", "VideoBatch", "TextBatch",
           "TextBase", "TextProjection", "MeanHead", "SeqTransfHead", "CrossAttentionHead",
           "PreviewIntensiveHead", "ActivityHead", "masked_mean"]
