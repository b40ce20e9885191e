"""The contract document (SPEC §1, §8) as pydantic models: pure, shared by the API and the CLI."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
COLUMN_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,127}$"
VERSION_PATTERN = r"^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$"
_DURATION = re.compile(r"^([1-9]\d{0,9})([smhd])$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

ContractName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
ColumnName = Annotated[str, StringConstraints(pattern=COLUMN_PATTERN)]
Text = Annotated[str, StringConstraints(max_length=10_000)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
Number = StrictInt | StrictFloat


def _exact_mostly(value: Any) -> Any:
    # Read mostly as the decimal the author wrote (0.9 is 9/10, not 0.9000000000000000222).
    if isinstance(value, bool):
        raise ValueError("mostly must be a number in (0, 1]")
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


Mostly = Annotated[
    Decimal,
    Field(gt=0, le=1, allow_inf_nan=False),
    PlainSerializer(float, return_type=float),
]


class ColumnType(StrEnum):
    BOOL = "bool"
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    UINT8 = "uint8"
    UINT16 = "uint16"
    UINT32 = "uint32"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    STRING = "string"
    BINARY = "binary"
    DATE = "date"
    TIMESTAMP = "timestamp"


INTEGER_TYPES = frozenset(
    {
        ColumnType.INT8,
        ColumnType.INT16,
        ColumnType.INT32,
        ColumnType.INT64,
        ColumnType.UINT8,
        ColumnType.UINT16,
        ColumnType.UINT32,
        ColumnType.UINT64,
    }
)
INTEGER_BOUNDS: dict[ColumnType, tuple[int, int]] = {
    ColumnType.INT8: (-(2**7), 2**7 - 1),
    ColumnType.INT16: (-(2**15), 2**15 - 1),
    ColumnType.INT32: (-(2**31), 2**31 - 1),
    ColumnType.INT64: (-(2**63), 2**63 - 1),
    ColumnType.UINT8: (0, 2**8 - 1),
    ColumnType.UINT16: (0, 2**16 - 1),
    ColumnType.UINT32: (0, 2**32 - 1),
    ColumnType.UINT64: (0, 2**64 - 1),
}
FLOAT_TYPES = frozenset({ColumnType.FLOAT32, ColumnType.FLOAT64})
NUMERIC_TYPES = INTEGER_TYPES | FLOAT_TYPES
RANGE_TYPES = NUMERIC_TYPES | {ColumnType.DATE, ColumnType.TIMESTAMP}
SET_TYPES = INTEGER_TYPES | {ColumnType.STRING}


def stored_family(t: ColumnType) -> str:
    """How a feature view stores a column of type `t`: one Delta type per family (integers as
    int64, uint64 as decimal(20,0), floats as float64, every other type as itself)."""
    if t in INTEGER_TYPES and t is not ColumnType.UINT64:
        return "integer"
    return "float" if t in FLOAT_TYPES else t.value


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Compatibility(StrEnum):
    BACKWARD = "backward"
    BACKWARD_TRANSITIVE = "backward_transitive"
    FORWARD = "forward"
    FORWARD_TRANSITIVE = "forward_transitive"
    FULL = "full"
    FULL_TRANSITIVE = "full_transitive"
    NONE = "none"


class OnViolation(StrEnum):
    REJECT = "reject"
    QUARANTINE = "quarantine"


def parse_duration(text: str) -> int:
    """`<n>s|m|h|d` → seconds. Raises ValueError naming the accepted form."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a duration: use <n>s, <n>m, <n>h or <n>d with n >= 1")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: int) -> str:
    """Seconds → the canonical duration text in the largest exact unit (86400 → '1d')."""
    for unit, size in _UNIT_SECONDS.items():
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable: 's' divides everything")


def _normalise_duration(value: Any) -> str:
    return format_duration(parse_duration(value))


Duration = Annotated[str, Field(description="<n>s|m|h|d, e.g. 90m or 30d")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Bounds(_Strict):
    """Inclusive bounds. Numbers for numeric columns, ISO dates or RFC 3339 instants otherwise."""

    min: Number | str | None = None
    max: Number | str | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _temporal_to_text(cls, value: Any) -> Any:
        # YAML turns 2024-01-01 into a date; keep bounds as text so JSON and YAML agree.
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return value

    @field_validator("min", "max")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("bounds must be finite")
        return value

    @model_validator(mode="after")
    def _one_bound(self) -> Bounds:
        if self.min is None and self.max is None:
            raise ValueError("give at least one of min and max")
        return self


class IntBounds(_Strict):
    min: Annotated[StrictInt, Field(ge=0)] | None = None
    max: Annotated[StrictInt, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> IntBounds:
        if self.min is None and self.max is None:
            raise ValueError("give at least one of min and max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


ROW_CHECK_KINDS = ("in_range", "in_set", "matches", "min_length", "max_length")


class ColumnCheck(_Strict):
    """One value check on a column: exactly one of the check keys, plus severity and mostly."""

    in_range: Bounds | None = None
    in_set: Annotated[list[StrictInt | str], Field(min_length=1, max_length=100_000)] | None = None
    matches: Annotated[str, StringConstraints(min_length=1, max_length=10_000)] | None = None
    min_length: Annotated[StrictInt, Field(ge=0)] | None = None
    max_length: Annotated[StrictInt, Field(ge=0)] | None = None
    severity: Severity = Severity.ERROR
    mostly: Mostly = Decimal(1)

    @field_validator("mostly", mode="before")
    @classmethod
    def _mostly_exact(cls, value: Any) -> Any:
        return _exact_mostly(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> ColumnCheck:
        given = [k for k in ROW_CHECK_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a check needs exactly one of {', '.join(ROW_CHECK_KINDS)}; got "
                f"{', '.join(given) or 'none'}"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ROW_CHECK_KINDS if getattr(self, k) is not None)

    @property
    def argument(self) -> Any:
        return getattr(self, self.kind)


class Column(_Strict):
    name: ColumnName
    type: ColumnType
    nullable: StrictBool = True
    unique: StrictBool = False
    description: Text | None = None
    checks: Annotated[list[ColumnCheck], Field(max_length=100)] = []


class FreshnessSpec(_Strict):
    column: ColumnName
    max_age: Duration

    @field_validator("max_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> str:
        return _normalise_duration(value)


DATASET_CHECK_KINDS = ("row_count", "unique", "freshness")


class DatasetCheck(_Strict):
    """One dataset-level check: exactly one of row_count, unique (composite key), freshness."""

    row_count: IntBounds | None = None
    unique: Annotated[list[ColumnName], Field(min_length=1, max_length=64)] | None = None
    freshness: FreshnessSpec | None = None
    severity: Severity = Severity.ERROR
    mostly: Mostly | None = None

    @field_validator("mostly", mode="before")
    @classmethod
    def _mostly_exact(cls, value: Any) -> Any:
        return _exact_mostly(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> DatasetCheck:
        given = [k for k in DATASET_CHECK_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a dataset check needs exactly one of {', '.join(DATASET_CHECK_KINDS)}; got "
                f"{', '.join(given) or 'none'}"
            )
        if self.mostly is not None and self.unique is None:
            raise ValueError(f"mostly applies to row checks only, not to {given[0]}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in DATASET_CHECK_KINDS if getattr(self, k) is not None)

    @property
    def effective_mostly(self) -> Decimal:
        return self.mostly if self.mostly is not None else Decimal(1)


class Features(_Strict):
    entity: Annotated[list[ColumnName], Field(min_length=1, max_length=16)]
    timestamp: ColumnName
    columns: list[ColumnName] | None = None
    ttl: Duration | None = None

    @field_validator("ttl", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else _normalise_duration(value)


class ContractSpec(_Strict):
    """A contract document. Cross-field rules live in app.contracts.parsing (exact error paths)."""

    name: ContractName
    version: Annotated[str, StringConstraints(pattern=VERSION_PATTERN)] | None = None
    title: ShortText | None = None
    description: Text | None = None
    owner: ShortText | None = None
    consumers: Annotated[list[ShortText], Field(max_length=1000)] = []
    compatibility: Compatibility = Compatibility.BACKWARD
    on_violation: OnViolation = OnViolation.REJECT
    columns: Annotated[list[Column], Field(min_length=1, max_length=10_000)]
    checks: Annotated[list[DatasetCheck], Field(max_length=1000)] = []
    features: Features | None = None

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


Format = Literal["yaml", "json", "jsonschema", "odcs"]
