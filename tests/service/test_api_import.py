"""POST /api/imports: an uploaded file imported as `landrelease import` does, all or nothing.

Files are written by the tests from synthetic records (`fixtures.hazard`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backends import copy_registry
from fixtures import bow_tie, hazard, query, snapshot, write_geojson

PROBLEM = "application/problem+json"
ClientFor = Callable[..., TestClient]


@pytest.fixture
def editor(client_for: ClientFor, demo_copy: Path, demo_tokens: dict[str, str]) -> TestClient:
    return client_for(demo_copy, demo_tokens["editor"])


def _synthetic_file(folder: Path, *records: dict[str, Any], name: str = "areas.geojson") -> Path:
    return write_geojson(folder / name, list(records))


def _upload(client: TestClient, path: Path, **form: Any) -> Any:
    with path.open("rb") as fh:
        return client.post(
            "/api/imports",
            files={"file": (path.name, fh, "application/geo+json")},
            data={k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()},
        )


def test_an_import_reports_as_the_cli_does_and_names_the_editor(
    editor: TestClient, demo_copy: Path, demo_db: Path, tmp_path: Path, run_cli: Any
) -> None:
    cli_copy = copy_registry(demo_db, tmp_path / "cli.gpkg")  # the same, for the CLI to import into
    path = _synthetic_file(
        tmp_path,
        hazard(11, name="synthetic upload a"),
        hazard(12, name="synthetic upload b", depth_cm=3),
    )
    r = _upload(editor, path, reason="synthetic survey upload")
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["imported"] == 2 and len(report["refs"]) == 2
    assert report["source"] == "areas.geojson"
    assert report["ignored_columns"] == ["depth_cm"]

    code, out, err = run_cli(["import", path, "--db", cli_copy, "--json"])
    assert code == 0, err
    by_cli = json.loads(out)
    assert by_cli.pop("source") == str(path)
    assert {k: v for k, v in report.items() if k != "source"} == by_cli

    for ref in report["refs"]:
        (v1,) = editor.get(f"/api/hazards/{ref}/history").json()["versions"]
        assert (v1["actor"], v1["reason"]) == ("editor", "synthetic survey upload")
    batch = query(
        demo_copy, "SELECT actor, source, records FROM landrelease_batches ORDER BY id DESC LIMIT 1"
    )
    assert batch == [("editor", "areas.geojson", 2)]


def test_a_refused_import_is_a_422_and_nothing_lands(
    editor: TestClient, demo_copy: Path, tmp_path: Path
) -> None:
    path = _synthetic_file(
        tmp_path,
        hazard(13, name="synthetic good"),
        hazard(14, name="synthetic bow tie", geometry=bow_tie()),
    )
    before = snapshot(demo_copy)
    r = _upload(editor, path)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["field"] == "geometry"
    assert "row 2" in body["record"]
    assert snapshot(demo_copy) == before
    # --repair (form field repair) lands it, each repair reported
    r = _upload(editor, path, repair=True)
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2 and r.json()["repairs"]


def test_an_unreadable_or_nameless_upload_is_a_422(
    editor: TestClient, demo_copy: Path, tmp_path: Path
) -> None:
    before = snapshot(demo_copy)
    junk = tmp_path / "junk.geojson"
    junk.write_text("{ not json", encoding="utf-8")
    assert _upload(editor, junk).status_code == 422
    r = editor.post("/api/imports", files={"file": ("areas", b"{}", "application/json")})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "file"
    assert snapshot(demo_copy) == before


def _chunks(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), 4096):
        yield data[i : i + 4096]


def test_an_upload_over_the_limit_is_a_413(
    client_for: ClientFor, demo_copy: Path, demo_tokens: dict[str, str], tmp_path: Path
) -> None:
    client = client_for(demo_copy, demo_tokens["editor"], max_upload_mb=0.01)  # 10 kB
    path = _synthetic_file(tmp_path, *(hazard(i, notes="synthetic " * 50) for i in range(20, 40)))
    assert path.stat().st_size > 10_000
    before = snapshot(demo_copy)
    r = _upload(client, path)  # refused from its Content-Length
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == PROBLEM and r.json()["field"] == "file"

    boundary = "synthetic-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"'
            "\r\nContent-Type: application/geo+json\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = client.post(  # chunked: no Content-Length, counted as it arrives
        "/api/imports",
        content=_chunks(body),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == PROBLEM
    assert snapshot(demo_copy) == before


def test_importing_needs_an_editor(
    client_for: ClientFor, demo_db: Path, demo_tokens: dict[str, str], tmp_path: Path
) -> None:
    path = _synthetic_file(tmp_path, hazard(41, name="synthetic"))
    before = snapshot(demo_db)
    assert _upload(client_for(demo_db), path).status_code == 401
    r = _upload(client_for(demo_db, demo_tokens["viewer"]), path)
    assert r.status_code == 403
    assert snapshot(demo_db) == before
