"""Estelam: the data-integration hub for judicial enforcement."""

__version__ = "0.1.0"
