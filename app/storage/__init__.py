"""Blob storage over pyarrow.fs: a local folder by default, s3:// through the same code."""
