"""Tollgate: data contracts enforced at the gate."""

import os

# polars allocates with jemalloc. With one arena instead of one per thread, buffers freed by one
# thread (a window pandera judged) are reused by the next (the window being read): validating the
# 5M-row benchmark file peaked at 482 MiB instead of 576 MiB, with 7% less CPU (bench/validate.py,
# A/B medians of 6 runs). jemalloc reads this when polars is first imported, so it is set here,
# before any module of the package imports polars. An operator's value wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "narenas:1")

__version__ = "0.3.6"
