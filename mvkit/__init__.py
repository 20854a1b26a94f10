"""mvkit: multilingual and cross-lingual text-video retrieval, from data to failures.

The package is deliberately thin: notebooks call it, it never calls them.
"""
from mvkit._setup import setup, smoke

__version__ = "0.2.0"
__all__ = ["__version__", "setup", "smoke"]
