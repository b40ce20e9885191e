"""Validation engine: pure (no FastAPI, no SQLAlchemy). Contract + Parquet file → report."""
