"""Open Data Contract Standard v3 interchange for the subset that maps onto SPEC §1. Pure.

Export carries what ODCS cannot say in `customProperties` (vendor `tollgate`), so that
contract → ODCS → contract is identical. Import refuses each field it cannot map, by its ODCS path.
"""

from app.contracts.odcs._tables import API_VERSION, VENDOR
from app.contracts.odcs.export import is_odcs, to_odcs
from app.contracts.odcs.importer import from_odcs

__all__ = ["API_VERSION", "VENDOR", "from_odcs", "is_odcs", "to_odcs"]
