"""One field submission as the readers hand it on: raw ODK text values, whatever the export."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Submission:
    """A submission of one of our forms, read from an ODK Central or KoboToolbox export.

    Values stay in ODK's text encoding: a geopoint is ``"lat lon alt acc"``, a geoshape its
    points joined by ``";"`` (first == last), a select_multiple its codes space-separated, a
    date ``YYYY-MM-DD`` and an integer decimal text. `values` and each repeat row are keyed by
    the question name (the last part of its path); empty answers are left out.
    """

    form_id: str
    instance_id: str  # meta/instanceID, e.g. "uuid:8c1e..."; never empty
    submitted_by: str | None  # ODK SubmitterName / Kobo _submitted_by
    submitted_at: str | None  # ISO 8601 UTC, e.g. "2026-11-12T09:31:05Z"
    values: dict[str, str]
    repeats: dict[str, list[dict[str, str]]]  # repeat name -> its rows, in order
    source: str  # where it was read: "export.zip:nts_survey.csv row 3"
    deprecated_id: str | None = None  # meta/deprecatedID of an edited submission
