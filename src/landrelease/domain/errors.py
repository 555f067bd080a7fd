"""The one error hierarchy of landrelease: each error says what was wrong and how to fix it."""

from __future__ import annotations


class LandreleaseError(Exception):
    """Base of every error a user can cause; the CLI maps it to exit code 2."""


class ValidationError(LandreleaseError):
    """A record (or a field of it) is not acceptable; names the record and the field."""

    def __init__(self, record: str | None, field: str | None, message: str) -> None:
        self.record = record
        self.field = field
        self.message = message
        where = ": ".join(p for p in (record, field) if p)
        super().__init__(f"{where}: {message}" if where else message)


class DuplicateGeometry(ValidationError):
    """The store refused a geometry that a current record of the same kind already has."""

    def __init__(self, record: str | None, key: int, stored_ref: str) -> None:
        self.key = key
        self.stored_ref = stored_ref
        super().__init__(
            record,
            "geometry",
            f"probable duplicate: the same geometry is already stored as {stored_ref}",
        )


class InputFileError(LandreleaseError):
    """A file could not be read or written (missing, truncated, unknown format)."""


class ConflictError(LandreleaseError):
    """A write was based on an out-of-date version of a record (optimistic locking)."""


class RegistryBusy(LandreleaseError):
    """Another program holds the registry's write lock for longer than a writer waits."""


class RegistryReadOnly(LandreleaseError):
    """The registry can be read but not written (a read-only file, folder or medium)."""


class NotFound(LandreleaseError):
    """No record with that reference exists."""


class IllegalTransition(LandreleaseError):
    """A land-release status change breaks the lifecycle rules."""

    def __init__(self, ref: str, from_status: str, to_status: str, needs: str) -> None:
        self.ref = ref
        self.from_status = from_status
        self.to_status = to_status
        self.needs = needs
        super().__init__(
            f"{ref}: cannot change status from {from_status!r} to {to_status!r}; {needs}"
        )
