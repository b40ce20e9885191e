"""Tollgate: data contracts enforced at the gate."""

__version__ = "0.1.0"
