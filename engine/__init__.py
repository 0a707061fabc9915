"""Revive engine: pure Python + torch + numpy. Nothing below this package imports Qt."""

__version__ = "0.1.0"
