"""Reads that share one snapshot (`Store.shared_read`): what a request that only reads asks
in several reads costs one transaction on a database, and nothing changes on the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import is_database
from fixtures import edit_outside
from landrelease.domain.errors import ValidationError
from landrelease.registry import Registry


def test_the_reads_of_a_block_see_one_snapshot(
    reg: Registry, registry_path: Path | str, refs: dict[str, str]
) -> None:
    with reg.store.shared_read():
        before = reg.stored_record("hazards", refs["kyiv"])["name"]
        edit_outside(
            registry_path,
            "UPDATE hazard_areas SET name = 'renamed outside' WHERE ref = ?",
            (refs["kyiv"],),
        )
        during = reg.stored_record("hazards", refs["kyiv"])["name"]
    after = reg.stored_record("hazards", refs["kyiv"])["name"]
    assert after == "renamed outside"
    if is_database(registry_path):  # one snapshot: the edit made meanwhile is not seen
        assert during == before
    else:  # a read of the file is its own snapshot, as outside the block
        assert during == "renamed outside"


@pytest.mark.skipif("not config.getoption('--backend') == 'postgis'")
def test_one_connection_and_one_transaction_serve_the_block(reg: Registry) -> None:
    with reg.store.shared_read():
        with reg.store.unit_of_work() as a:
            first = a.execute("SELECT pg_backend_pid(), txid_current()").fetchone()
        with reg.store.shared_read(), reg.store.unit_of_work() as b:  # nested: the same
            second = b.execute("SELECT pg_backend_pid(), txid_current()").fetchone()
    assert first == second
    with reg.store.unit_of_work() as c:
        assert c.execute("SELECT txid_current()").fetchone()[0] != first[1]


@pytest.mark.skipif("not config.getoption('--backend') == 'postgis'")
def test_a_failed_statement_ends_the_shared_snapshot_and_the_next_read_begins_another(
    reg: Registry, refs: dict[str, str]
) -> None:
    with reg.store.shared_read():
        with pytest.raises(ValidationError, match="division"), reg.store.unit_of_work() as a:
            a.execute("SELECT 1 / 0")
        assert reg.stored_record("hazards", refs["kyiv"])["ref"] == refs["kyiv"]
    # the connections all went back to the pool: as many reads as it holds still work
    for _ in range(20):
        assert reg.stored_record("hazards", refs["kyiv"])["ref"] == refs["kyiv"]
