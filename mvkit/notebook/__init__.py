"""The one layer the notebooks import: shared parameters, data, run folders, recipes, tables, views.

Every notebook opens its data with :func:`open_data` (its ``DATA`` dict overrides
:data:`DATA_DEFAULTS`), keeps runs under :func:`runs_dir`, and shows numbers with
:func:`format_language_table`. Lower layers (``analysis``, ``viz``, ``models``, ``losses``,
``metrics``, ``data``, ``features``) never import from here or from ``experiments``.
"""
from mvkit._setup import smoke
from mvkit.analysis.embeddings import SplitEmbeddings, embed_split_for_analysis
from mvkit.notebook.data import NotebookData, open_data
from mvkit.notebook.params import DATA_DEFAULTS, DataParams, data_params
from mvkit.notebook.recipe import train, train_config
from mvkit.notebook.runs import runs_dir
from mvkit.notebook.tables import TABLE_METRICS, format_language_table, results_by_language
from mvkit.notebook.views import MAP_LANGS, embedding_figure, failure_figure, pick_failure

__all__ = [
    "DATA_DEFAULTS",
    "MAP_LANGS",
    "TABLE_METRICS",
    "DataParams",
    "NotebookData",
    "SplitEmbeddings",
    "data_params",
    "embed_split_for_analysis",
    "embedding_figure",
    "failure_figure",
    "format_language_table",
    "open_data",
    "pick_failure",
    "results_by_language",
    "runs_dir",
    "smoke",
    "train",
    "train_config",
]
