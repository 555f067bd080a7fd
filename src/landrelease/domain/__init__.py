"""The pure domain: records, codes, lifecycle rules, geometry checks and errors."""

from landrelease.domain.errors import (
    ConflictError,
    IllegalTransition,
    InputFileError,
    LandreleaseError,
    NotFound,
    ValidationError,
)

__all__ = [
    "ConflictError",
    "IllegalTransition",
    "InputFileError",
    "LandreleaseError",
    "NotFound",
    "ValidationError",
]
