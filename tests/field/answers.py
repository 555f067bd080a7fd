"""Submissions made by hand for the mapping and flag tests (synthetic): one of any form, with
the answers a test gives, and a small square as ODK writes a geoshape."""

from __future__ import annotations

from landrelease.field.submission import Submission

# A square of about 72 m by 111 m near Lviv, as ODK writes a geoshape ("lat lon alt acc").
SQUARE = (
    "49.84 24.02 300 4;49.84 24.021 300 4;49.841 24.021 300 4;49.841 24.02 300 4;49.84 24.02 300 4"
)
SQUARE_LONLAT = [(24.02, 49.84), (24.021, 49.84), (24.021, 49.841), (24.02, 49.841), (24.02, 49.84)]


def submission(
    form_id: str, values: dict[str, str], repeats: dict[str, list[dict[str, str]]] | None = None
) -> Submission:
    """Return a submission of `form_id` with these answers (and an organisation)."""
    return Submission(
        form_id=form_id,
        instance_id="uuid:0b5d7c4e-1111-4a3e-9c2d-5f0e8a1b2c3d",
        submitted_by="collector01",
        submitted_at="2026-11-12T09:31:05Z",
        values={"organisation": "Demining NGO", "landrelease_form": form_id, **values},
        repeats=repeats or {},
        source=f"export.zip:{form_id}.csv row 2",
    )
