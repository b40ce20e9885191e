"""Contract problems: unknown contracts/versions (404), invalid documents (422), refusals (409)."""

from app.problems import Conflict, InvalidInput, NotFound


class ContractNotFound(NotFound):
    type = "contract-not-found"
    title = "Contract not found"


class VersionNotFound(NotFound):
    type = "version-not-found"
    title = "Contract version not found"


class InvalidContract(InvalidInput):
    """The document is malformed or breaks a rule of SPEC §1; `errors` lists {path, message}."""

    type = "invalid-contract"
    title = "Invalid contract document"


class IncompatibleChange(Conflict):
    """The contract's compatibility mode refuses the change; carries `changes` and `violations`."""

    type = "contract-incompatible"
    title = "Incompatible contract change"


class StoredTypeChange(Conflict):
    """A feature view's column would change how it is stored; `allow_breaking` cannot force it."""

    type = "feature-view-type-change"
    title = "Feature view column type change"


class VersionConflict(Conflict):
    """A given `version` is not greater than the latest or understates the bump."""

    type = "version-conflict"
    title = "Version conflict"
