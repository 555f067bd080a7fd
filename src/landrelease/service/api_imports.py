"""POST /api/imports: import an uploaded file, as `landrelease import` does.

The upload is written to a temporary folder under its own name (the reader picks the format by
its extension), then `Registry.import_file` checks every record and writes all or none. The
answer is the report `landrelease import --json` prints (`records_json.import_report_json`);
a refused import is a 422 naming the record and the field, and nothing lands.

An upload larger than the setting `max_upload_mb` is a 413: refused from its Content-Length
before it is read, or as soon as more than that has arrived.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any, Literal, get_args

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Message, Receive

from landrelease.domain.records import KINDS
from landrelease.records_json import import_report_json
from landrelease.service import schemas as s
from landrelease.service.api_common import Reg, Writer, json_response
from landrelease.service.problems import Problem

KindName = Literal["hazards", "events", "activities", "items", "accidents", "eore"]
assert set(get_args(KindName)) == set(KINDS)
CHUNK = 1 << 20


def upload_limit(request: Request) -> int:
    """Return the most bytes an upload may have (setting max_upload_mb)."""
    return int(request.app.state.settings.max_upload_mb * 1_000_000)


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "upload too large",
        f"the upload is larger than {limit / 1e6:g} MB, the most this server accepts "
        "(setting max_upload_mb); import a large file with the command line",
        field="file",
    )


class _BodyTooLarge(HTTPException):
    """Raised while the body arrives (FastAPI passes an HTTPException through its parser)."""

    def __init__(self) -> None:
        super().__init__(413)


class UploadRoute(APIRoute):
    """A route that refuses (413) a request body larger than `upload_limit`, before it is
    spooled: at once from its Content-Length, else as soon as more has arrived."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def limited(request: Request) -> Response:
            limit = upload_limit(request)
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise _too_large(limit)
            try:
                return await handle(Request(request.scope, _counting(request.receive, limit)))
            except _BodyTooLarge:
                raise _too_large(limit) from None

        return limited


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _BodyTooLarge
        return message

    return counted


router = APIRouter(route_class=UploadRoute)


def upload_name(filename: str | None) -> str:
    """Return a safe local name for an upload, keeping its extension (its format)."""
    name = Path((filename or "").replace("\\", "/")).name
    name = re.sub(r"[^\w.\-]", "_", name).lstrip(".")[-120:]
    if not Path(name).suffix:
        raise Problem(
            422,
            "invalid input",
            f"file {filename!r}: name the upload with its format's extension "
            "(.geojson, .gpkg, .zip, .csv, .xlsx, .parquet)",
            field="file",
        )
    return name


def _copy_upload(src: IO[bytes], path: Path, limit: int) -> None:
    """Write an upload to `path`; more than `limit` bytes is a 413."""
    size = 0
    with path.open("wb") as out:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            out.write(chunk)


@contextmanager
def uploaded(request: Request, file: UploadFile) -> Iterator[Path]:
    """Yield the path of a copy of an uploaded file, under its checked name (`upload_name`)
    in a folder of its own, for the block; more than the upload limit is a 413."""
    name = upload_name(file.filename)
    with tempfile.TemporaryDirectory(prefix="landrelease-upload-") as folder:
        path = Path(folder) / name
        _copy_upload(file.file, path, upload_limit(request))
        yield path


@router.post(
    "/api/imports",
    status_code=201,
    response_model=s.ImportReport,
    tags=["records"],
    operation_id="import_file",
    summary="Import a file of records: all of them, or none (as `landrelease import`)",
    responses={
        200: {"description": "the file held no record: nothing was written"},
        **s.problems(400, 401, 403, 409, 413, 422, 503),
    },
)
def import_file(
    request: Request,
    user: Writer,
    reg: Reg,
    file: Annotated[
        UploadFile,
        File(description="the file: .geojson, .gpkg, .zip (Shapefile), .csv, .xlsx, .parquet"),
    ],
    kind: Annotated[KindName, Form(description="the kind of its records")] = "hazards",
    reason: Annotated[str | None, Form(max_length=2000, description="why: kept in history")] = None,
    repair: Annotated[bool, Form(description="repair invalid polygons (each reported)")] = False,
    keep_status: Annotated[
        bool,
        Form(description="accept statuses as recorded by the source (a migration)"),
    ] = False,
    layer: Annotated[str | None, Form(max_length=500, description="layer of a GeoPackage")] = None,
    crs: Annotated[
        str | None,
        Form(max_length=500, description="CRS of a file that declares none, e.g. EPSG:32636"),
    ] = None,
    encoding: Annotated[
        str | None, Form(max_length=100, description="text encoding of a CSV or .dbf, e.g. cp1251")
    ] = None,
) -> Response:
    with uploaded(request, file) as path:
        report = reg.import_file(
            path,
            kind,
            actor=user.name,
            reason=reason,
            repair=repair,
            keep_status=keep_status,
            layer=layer,
            crs=crs,
            encoding=encoding,
            source=path.name,
        )
    return json_response(import_report_json(report), 201 if report.imported else 200)
