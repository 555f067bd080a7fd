"""The review queue's tables, on either backend: what the repository keeps, and what an SQL
client (QGIS, psql) cannot do to it. Submissions here are synthetic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures import edit_outside, query
from landrelease.domain.errors import ConflictError, NotFound
from landrelease.registry import Registry


def _row(instance_id: str = "uuid:0001", **over: Any) -> dict[str, Any]:
    row = {
        "instance_id": instance_id,
        "form_id": "eod_spot_task",
        "submitted_by": "team-3",
        "submitted_at": "2026-11-02T09:00:00Z",
        "imported_at": "2026-11-03T10:00:00Z",
        "imported_by": "ana",
        "source": "export.zip",
        "payload": '{"values": {}, "repeats": {}}',
        "flags": "[]",
    }
    row.update(over)
    return row


def test_a_queued_submission_is_kept_with_its_history(reg: Registry) -> None:
    with reg.store.unit_of_work(write=True) as uow:
        sid = uow.submissions.add(_row())
        uow.submissions.add_event(sid, at="2026-11-03T10:00:00Z", actor="ana", action="imported")
    with reg.store.unit_of_work() as uow:
        got = uow.submissions.get(sid)
        assert got["state"] == "pending" and got["instance_id"] == "uuid:0001"
        assert uow.submissions.by_instance("uuid:0001") == got
        assert uow.submissions.by_instance("uuid:none") is None
        assert [r["id"] for r in uow.submissions.select("pending")] == [sid]
        assert uow.submissions.select("approved") == []
        (event,) = uow.submissions.events(sid)
        assert (event["actor"], event["action"]) == ("ana", "imported")
        with pytest.raises(NotFound, match="no field submission 999"):
            uow.submissions.get(999)


def test_a_reviewed_submission_is_never_changed(reg: Registry) -> None:
    with reg.store.unit_of_work(write=True) as uow:
        sid = uow.submissions.add(_row())
        uow.submissions.update(sid, {"state": "rejected", "decided_by": "vera"})
    with reg.store.unit_of_work(write=True) as uow, pytest.raises(ConflictError, match="rejected"):
        uow.submissions.update(sid, {"flags": "[]"})
    with reg.store.unit_of_work(write=True) as uow, pytest.raises(ValueError, match="instance"):
        uow.submissions.update(sid, {"instance_id": "uuid:x"})


def test_the_same_instance_id_is_one_row(reg: Registry) -> None:
    with reg.store.unit_of_work(write=True) as uow:
        uow.submissions.add(_row())
    with pytest.raises(Exception, match="(?i)unique"):
        with reg.store.unit_of_work(write=True) as uow:
            uow.submissions.add(_row())


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM landrelease_submissions",
        "UPDATE landrelease_submissions SET payload = '{}'",
        "UPDATE landrelease_submission_events SET reason = 'x'",
        "DELETE FROM landrelease_submission_events",
    ],
)
def test_an_sql_client_cannot_rewrite_the_review(
    reg: Registry, registry_path: Path | str, sql: str
) -> None:
    with reg.store.unit_of_work(write=True) as uow:
        sid = uow.submissions.add(_row())
        uow.submissions.add_event(sid, at="2026-11-03T10:00:00Z", actor="ana", action="imported")
        uow.submissions.update(sid, {"state": "approved", "decided_by": "vera", "refs": "[]"})
    before = query(registry_path, "SELECT * FROM landrelease_submissions") + query(
        registry_path, "SELECT * FROM landrelease_submission_events"
    )
    with pytest.raises(Exception, match="landrelease: "):
        edit_outside(registry_path, sql)
    after = query(registry_path, "SELECT * FROM landrelease_submissions") + query(
        registry_path, "SELECT * FROM landrelease_submission_events"
    )
    assert after == before
