"""GDAL's OGC API Features driver (OAPIF, through pyogrio) reads the service as the CLI does.

A real uvicorn server on a free loopback port serves a copy of the synthetic demo registry;
GDAL signs in as a viewer with its bearer options (GDAL_HTTP_AUTH=BEARER, GDAL_HTTP_BEARER:
the driver's own Accept header replaces a GDAL_HTTP_HEADERS one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyogrio
import pytest
from tests.service.conftest import serving_copy

RunCli = Any


@pytest.fixture(scope="module")
def served(
    demo_db: Path, demo_tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A server of a copy of the demo registry, in a process of its own (GDAL's reads hold
    the interpreter of the process they run in): its URL, the registry's path, and the
    requests it logged (to see what GDAL sends)."""
    folder = tmp_path_factory.mktemp("gdal")
    with serving_copy(demo_db, folder, log_requests=True) as (url, path, log):
        pyogrio.set_gdal_config_options(
            {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": demo_tokens["viewer"]}
        )
        try:
            yield {"url": url, "path": path, "log": log}
        finally:
            pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


def asked(served: dict[str, Any]) -> list[str]:
    """Return the requests the server logged so far, their query strings decoded."""
    return [unquote(line) for line in served["log"].read_text().splitlines()]


def cli_hazards(run_cli: RunCli, path: Path, *args: str) -> list[dict[str, Any]]:
    code, out, err = run_cli(["hazards", "list", "--db", str(path), "--json", *args])
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def test_gdal_lists_the_collections(served: dict[str, Any]) -> None:
    layers = pyogrio.list_layers("OAPIF:" + served["url"])
    assert [name for name, _ in layers] == ["hazards", "activities", "items", "accidents", "eore"]
    assert dict(layers.tolist())["hazards"] == "MultiPolygon"


def test_gdal_reads_what_the_cli_lists(served: dict[str, Any], run_cli: RunCli) -> None:
    df = pyogrio.read_dataframe("OAPIF:" + served["url"], layer="hazards")
    rows = cli_hazards(run_cli, served["path"])
    assert len(df) == len(rows) == len(set(df["ref"]))
    by_ref = df.set_index("ref")
    for row in rows:
        got = by_ref.loc[row["ref"]]
        for name in ("status", "hazard_type", "name", "land_use", "changed_by"):
            assert (got[name] or None) == row[name], (row["ref"], name)
        assert got["area_m2"] == pytest.approx(row["area_m2"])
        assert int(got["version"]) == row["version"]
        assert list(got["contamination"]) == row["contamination"]
    # paged at GDAL's page size, each page from the server's next link
    assert any("/collections/hazards/items?limit=1000" in q for q in asked(served))


def test_gdal_filters_on_the_server(served: dict[str, Any], run_cli: RunCli) -> None:
    confirmed = {r["ref"] for r in cli_hazards(run_cli, served["path"], "--status", "confirmed")}
    assert confirmed
    # OGR's attribute filter: GDAL sends the equality as a queryable parameter
    seen = len(asked(served))
    df = pyogrio.read_dataframe(
        "OAPIF:" + served["url"], layer="hazards", where="status = 'confirmed'"
    )
    assert set(df["ref"]) == confirmed
    assert any("/items?" in q and "status=confirmed" in q for q in asked(served)[seen:])
    # a CQL2 filter in the dataset's URL: GDAL passes it on with every request
    seen = len(asked(served))
    url = served["url"] + "/?filter=status%3D'confirmed'%20AND%20area_m2%3E0"
    df = pyogrio.read_dataframe("OAPIF:" + url, layer="hazards")
    assert set(df["ref"]) == confirmed
    sent = [q for q in asked(served)[seen:] if "/items?" in q]
    assert sent and all("filter=status='confirmed' AND area_m2>0" in q for q in sent)
