"""Auth problems: missing/invalid keys (401), missing rights (403), unknown key ids (404)."""

from app.problems import Forbidden, NotFound, Unauthenticated


class MissingKey(Unauthenticated):
    type = "missing-api-key"
    title = "Missing API key"


class InvalidKey(Unauthenticated):
    type = "invalid-api-key"
    title = "Invalid API key"


class NotAllowed(Forbidden):
    type = "forbidden"
    title = "Forbidden"


class KeyNotFound(NotFound):
    type = "key-not-found"
    title = "API key not found"
