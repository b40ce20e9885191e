"""Batch problems: unknown batches (404), unreadable uploads (422), reused keys (409)."""

from app.problems import Conflict, InvalidInput, NotFound


class BatchNotFound(NotFound):
    type = "batch-not-found"
    title = "Batch not found"


class UnreadableUpload(InvalidInput):
    """The body is not readable Parquet (empty, random, truncated, CSV): no batch is created."""

    type = "unreadable-parquet"
    title = "Not a readable Parquet file"


class IdempotencyKeyReused(Conflict):
    type = "idempotency-key-reused"
    title = "Idempotency key reused with a different body"


class NotValidatedYet(Conflict):
    """Evidence (failures, quarantine) was asked for before the batch was validated."""

    type = "batch-not-validated"
    title = "Batch not validated yet"


class AlreadyValidated(Conflict):
    """A retry was asked for a batch that is already accepted, partial or rejected."""

    type = "batch-already-validated"
    title = "Batch already validated"
