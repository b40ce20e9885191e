"""Batches domain: uploads, validation records (the violations ledger), quality history."""
