"""Figures: clip montages, retrieval galleries (static and ipywidgets), embedding maps, plots."""
