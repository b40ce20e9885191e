"""Tollgate: data contracts enforced at the gate."""

__version__ = "0.3.1"
