"""Synthetic field submissions, and writers of the exports ODK Central and KoboToolbox make.

`fill` answers one of our forms at random (seeded), from `landrelease.field.forms.questions`:
points around 48.5N 35.0E, polygons of four to six corners, instance ids ``uuid:`` + a uuid4
drawn from the seed, and every text marked SYNTHETIC. The writers lay those submissions out as
each exporter does (same files, columns and their order, same value encodings), so that a
reader that gets them back has read the real thing's layout:

- `write_odk_zip` / `write_odk_csv`: ODK Central's CSV export (``<form>.csv.zip`` holding
  ``<form>.csv`` and ``<form>-<repeat>.csv``; or the main table alone).
- `write_odata_json`: ODK Central's OData feed with repeats expanded (``$expand=*``).
- `write_kobo_json`: KoboToolbox's API data listing (``/api/v2/assets/<uid>/data/``).
- `write_kobo_csv`: KoboToolbox's CSV export with XML values and headers (no repeats).
- `write_kobo_xlsx`: KoboToolbox's XLSX export with XML values and headers: the submissions'
  sheet, then one sheet per repeat (``_parent_table_name``, ``_parent_index``), as formpack
  writes it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import random
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

from landrelease.field import forms
from landrelease.field.forms import Question
from landrelease.field.submission import Submission

CENTRE = (48.5, 35.0)  # lat, lon: the middle of the synthetic field work
FIRST_DAY = dt.date(2026, 10, 1)
_SYSTEM_ODK = (
    "KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
)
_KOBO_SYSTEM = (
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
    "_index",
)
_GEOPOINT_PARTS = {"latitude": 0, "longitude": 1, "altitude": 2, "accuracy": 3, "precision": 3}
_TEXTS = {
    "organisation": "SYNTHETIC Demining Organisation {n}",
    "team": "SYNTHETIC team {n}",
    "area_ref": "HZ-2026-{n:04d}",
    "activity_ref": "AC-2026-{n:04d}",
    "name": "SYNTHETIC field {n}",
    "evidence": "SYNTHETIC: warning sign and a crater seen at the field edge ({n})",
    "admin_area": "SYNTHETIC community {n}",
    "informant_statement": "SYNTHETIC statement {n}",
    "item_description": "SYNTHETIC item description {n}",
    "notes": 'SYNTHETIC notes {n}; "quoted", with a comma',
}


# -- the filler -------------------------------------------------------------------------------


def fill(form_id: str, seed: int, count: int) -> list[Submission]:
    """Return `count` synthetic submissions of a form, the same ones for the same seed."""
    rng = random.Random(f"{form_id}:{seed}")
    return [_one(form_id, rng, i) for i in range(count)]


def _one(form_id: str, rng: random.Random, i: int) -> Submission:
    questions = forms.questions(form_id)
    day = FIRST_DAY + dt.timedelta(days=rng.randrange(40))
    started = dt.datetime.combine(day, dt.time(8, rng.randrange(60), rng.randrange(60)))
    zone = dt.timezone(dt.timedelta(hours=2))
    place = _near(rng, CENTRE, 0.3)  # where this submission's points and shapes lie
    values: dict[str, str] = {}
    for q in questions.values():
        if q.repeat is None:
            value = _answer(form_id, q, rng, values, started.replace(tzinfo=zone), place)
            if value:
                values[q.name] = value
    repeats = {name: _rows(form_id, name, rng, values, place) for name in forms.repeats(form_id)}
    submitted = started + dt.timedelta(hours=3, seconds=rng.randrange(3600))
    return Submission(
        form_id=form_id,
        instance_id=f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        submitted_by=f"synthetic-collector-{i + 1}" if i % 3 != 2 else None,
        submitted_at=submitted.strftime("%Y-%m-%dT%H:%M:%SZ"),
        values=values,
        repeats={name: rows for name, rows in repeats.items() if rows},
        source="synthetic",
    )


def _answer(
    form_id: str,
    q: Question,
    rng: random.Random,
    values: dict[str, str],
    started: dt.datetime,
    place: tuple[float, float],
) -> str:
    """Return one answer as ODK text ('' when the question is left empty)."""
    if q.type == "start":
        return started.isoformat(timespec="milliseconds")
    if q.type == "end":
        return (started + dt.timedelta(minutes=25)).isoformat(timespec="milliseconds")
    if q.type == "calculate":
        return form_id
    if q.name == "end_date" and values.get("activity_status") != "completed":
        return ""
    if q.name == "area_shape" and values.get("shape_method") != "polygon":
        return ""
    if not q.required and rng.random() < 0.25 and q.name != "area_shape":
        return ""
    if q.type == "text":
        return _TEXTS.get(q.name, "SYNTHETIC {n}").format(n=rng.randrange(1, 100))
    if q.type == "date":
        before = rng.randrange(5, 20) if q.name == "start_date" else rng.randrange(3)
        return (started.date() - dt.timedelta(days=before)).isoformat()
    if q.type == "integer":
        return str(rng.randrange(0, 40))
    if q.type == "select_one":
        return rng.choice(forms.choices(form_id, q.list_name or ""))
    if q.type == "select_multiple":
        codes = forms.choices(form_id, q.list_name or "")
        chosen = set(rng.sample(codes, rng.randint(1, min(3, len(codes)))))
        return " ".join(code for code in codes if code in chosen)
    if q.type == "geopoint":
        return _point_text(rng, *_near(rng, place, 0.002))
    if q.type == "geoshape":
        return ";".join(_ring(rng, place))
    raise AssertionError(f"no synthetic answer for {q.type}")


def _rows(
    form_id: str,
    repeat: str,
    rng: random.Random,
    values: dict[str, str],
    place: tuple[float, float],
) -> list[dict[str, str]]:
    """Return the rows of one repeat: corner points only when the boundary is walked."""
    if repeat == "boundary":
        if values.get("shape_method") != "points":
            return []
        return [{"boundary_point": text} for text in _ring(rng, place)[:-1]]
    inside = [q for q in forms.questions(form_id).values() if q.repeat == repeat]
    least = 0 if repeat == "informant" else 1
    rows = []
    for _ in range(rng.randint(least, 3)):
        row = {}
        for q in inside:
            if q.name == "item_quantity":
                value = str(rng.randint(1, 5))
            else:
                value = _answer(form_id, q, rng, values, dt.datetime(2026, 10, 1), place)
            if value:
                row[q.name] = value
        rows.append(row)
    return rows


def _near(rng: random.Random, centre: tuple[float, float], spread: float) -> tuple[float, float]:
    return (centre[0] + rng.uniform(-spread, spread), centre[1] + rng.uniform(-spread, spread))


def _point_text(rng: random.Random, lat: float, lon: float) -> str:
    """Return a fix as ODK Collect writes it: lat lon altitude accuracy, as decimals."""
    alt = round(rng.uniform(60.0, 220.0), 1)
    accuracy = round(rng.uniform(2.0, 9.0), 1)
    return f"{round(lat, 6)!r} {round(lon, 6)!r} {alt!r} {accuracy!r}"


def _ring(rng: random.Random, centre: tuple[float, float]) -> list[str]:
    """Return a closed ring of 4-6 corners around a centre (a simple polygon: star-shaped)."""
    corners = rng.randint(4, 6)
    angles = [i * 2 * math.pi / corners + rng.uniform(0, 0.5) for i in range(corners)]
    points = []
    for angle in angles:
        radius = rng.uniform(0.001, 0.004)
        lat = centre[0] + radius * math.sin(angle)
        lon = centre[1] + radius * math.cos(angle) / math.cos(math.radians(centre[0]))
        points.append(_point_text(rng, lat, lon))
    return [*points, points[0]]


# -- ODK Central: CSV -------------------------------------------------------------------------


def _columns(form_id: str, repeat: str | None, separator: str) -> list[tuple[str, Question]]:
    """Return the CSV columns of a table of a form and the question each one comes from."""
    columns = []
    for q in forms.questions(form_id).values():
        if q.repeat != repeat:
            continue
        if q.type == "geopoint" and separator == "-":
            columns += [(f"{q.name}-{part}", q) for part in ("Latitude", "Longitude")]
            columns += [(f"{q.name}-{part}", q) for part in ("Altitude", "Accuracy")]
        elif q.type == "geopoint":
            columns.append((q.name, q))
            parts = ("latitude", "longitude", "altitude", "precision")
            columns += [(f"_{q.name}_{part}", q) for part in parts]
        elif q.type == "select_multiple":
            columns.append((q.name, q))
            choices = forms.choices(form_id, q.list_name or "")
            columns += [(f"{q.name}/{code}", q) for code in choices]
        else:
            columns.append((q.name, q))
    return columns


def _cell(column: str, q: Question, answers: dict[str, str], empty_choice: str) -> str:
    """Return one cell of an exported table from the answers of a submission or repeat row."""
    value = answers.get(q.name, "")
    if column == q.name:
        return value
    if q.type == "select_multiple":
        if not value:
            return empty_choice
        return "1" if column.rsplit("/", 1)[1] in value.split() else "0"
    parts = value.split() + [""] * 4
    suffix = column.rsplit("-" if "-" in column else "_", 1)[1].lower()
    return parts[_GEOPOINT_PARTS[suffix]]


def _csv_text(header: list[str], rows: list[list[str]], **options: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out, **options)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _odk_main(form_id: str, subs: list[Submission]) -> str:
    """Return Central's main table: SubmissionDate, the form's fields, meta, then its own."""
    columns = _columns(form_id, None, "-")
    header = ["SubmissionDate", *(c for c, _ in columns), "meta-instanceID", "meta-instanceName"]
    header += _SYSTEM_ODK
    version = forms.form_sheets(form_id)["settings"][0]["version"]
    rows = []
    for i, sub in enumerate(subs):
        cells = [_odk_moment(sub.submitted_at, i)]
        cells += [_cell(c, q, sub.values, "0") for c, q in columns]
        cells += [sub.instance_id, f"SYNTHETIC {form_id} {i + 1}", sub.instance_id]
        cells += [str(20 + i) if sub.submitted_by else "", sub.submitted_by or ""]
        cells += ["0", "0", "", ("", "approved", "hasIssues")[i % 3], f"collect:SYNTHETIC{i}"]
        cells += ["0", version]
        rows.append(cells)
    return _csv_text(header, rows, lineterminator="\n")


def _odk_moment(submitted_at: str | None, i: int) -> str:
    """Return a UTC moment as Central writes SubmissionDate (with milliseconds)."""
    return f"{(submitted_at or '')[:-1]}.{(137 * i + 42) % 1000:03d}Z"


def _odk_repeat(form_id: str, repeat: str, subs: list[Submission]) -> str:
    """Return the table of one repeat: its fields, then PARENT_KEY and KEY."""
    columns = _columns(form_id, repeat, "-")
    rows = []
    for sub in subs:
        for n, answers in enumerate(sub.repeats.get(repeat, []), 1):
            cells = [_cell(c, q, answers, "0") for c, q in columns]
            rows.append([*cells, sub.instance_id, f"{sub.instance_id}/{repeat}[{n}]"])
    return _csv_text([*(c for c, _ in columns), "PARENT_KEY", "KEY"], rows, lineterminator="\n")


def write_odk_zip(form_id: str, subs: list[Submission], path: Path) -> Path:
    """Write Central's CSV export: ``<form>.csv`` and one ``<form>-<repeat>.csv`` per repeat."""
    tables = {f"{form_id}.csv": _odk_main(form_id, subs)}
    for repeat in forms.repeats(form_id):
        tables[f"{form_id}-{repeat}.csv"] = _odk_repeat(form_id, repeat, subs)
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in tables.items():
            # a fixed time stamp, so that the same submissions make the same bytes
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return path


def write_odk_csv(form_id: str, subs: list[Submission], path: Path) -> Path:
    """Write Central's main table alone (its "CSV without repeats" download)."""
    path.write_text(_odk_main(form_id, subs), encoding="utf-8", newline="")
    return path


def write_odk_repeat_csv(form_id: str, repeat: str, subs: list[Submission], path: Path) -> Path:
    """Write one repeat table of Central's export on its own (as unzipped by hand)."""
    path.write_text(_odk_repeat(form_id, repeat, subs), encoding="utf-8", newline="")
    return path


# -- ODK Central: OData -----------------------------------------------------------------------


def _js_number(text: str) -> float | int:
    """Return a number as Central's JavaScript writes it to JSON (310.0 becomes 310)."""
    value = float(text)
    return int(value) if value.is_integer() else value


def odata_geo(q_type: str, text: str) -> dict[str, Any]:
    """Return ODK geo text as Central's OData GeoJSON (the default, not WKT)."""
    points = [part.split() for part in text.split(";")]
    coordinates = [[_js_number(p[1]), _js_number(p[0]), *map(_js_number, p[2:3])] for p in points]
    accuracies = [_js_number(p[3]) if len(p) > 3 else None for p in points]
    if q_type == "geopoint":
        geometry: dict[str, Any] = {"type": "Point", "coordinates": coordinates[0]}
        if accuracies[0] is not None:
            geometry["properties"] = {"accuracy": accuracies[0]}
        return geometry
    kind = "LineString" if q_type == "geotrace" else "Polygon"
    geometry = {"type": kind, "coordinates": coordinates if kind == "LineString" else [coordinates]}
    if any(a is not None for a in accuracies):
        geometry["properties"] = {"accuracies": accuracies}
    return geometry


def _odata_value(q: Question, answers: dict[str, str]) -> Any:
    value = answers.get(q.name)
    if value is None:
        return None
    if q.type in ("geopoint", "geoshape", "geotrace"):
        return odata_geo(q.type, value)
    if q.type == "integer":
        return int(value)
    return value


def _odata_entry(form_id: str, sub: Submission, i: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "__id": sub.instance_id,
        "__system": {
            "submissionDate": _odk_moment(sub.submitted_at, i),
            "updatedAt": None,
            "submitterId": str(20 + i) if sub.submitted_by else None,
            "submitterName": sub.submitted_by,
            "attachmentsPresent": 0,
            "attachmentsExpected": 0,
            "status": None,
            "reviewState": (None, "approved", "hasIssues")[i % 3],
            "deviceId": f"collect:SYNTHETIC{i}",
            "edits": 0,
            "formVersion": forms.form_sheets(form_id)["settings"][0]["version"],
            "deletedAt": None,
        },
    }
    questions = list(forms.questions(form_id).values())
    for q in questions:
        if q.repeat is None:
            entry[q.name] = _odata_value(q, sub.values)
        elif q.repeat not in entry and sub.repeats.get(q.repeat):
            entry[f"{q.repeat}@odata.navigationLink"] = (
                f"Submissions('{sub.instance_id}')/{q.repeat}"
            )
            entry[q.repeat] = [
                {
                    "__id": hashlib.sha1(f"{sub.instance_id}/{q.repeat}[{n}]".encode()).hexdigest(),
                    **{
                        inner.name: _odata_value(inner, row)
                        for inner in questions
                        if inner.repeat == q.repeat
                    },
                }
                for n, row in enumerate(sub.repeats[q.repeat], 1)
            ]
    entry["meta"] = {"instanceID": sub.instance_id, "instanceName": f"SYNTHETIC {form_id}"}
    return entry


def write_odata_json(form_id: str, subs: list[Submission], path: Path) -> Path:
    """Write Central's OData Submissions feed as pyodk's ``get_table(expand="*")`` returns it."""
    document = {
        "@odata.context": (
            f"https://central.example.org/v1/projects/1/forms/{form_id}.svc/$metadata#Submissions"
        ),
        "value": [_odata_entry(form_id, sub, i) for i, sub in enumerate(subs)],
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


# -- KoboToolbox ------------------------------------------------------------------------------


def _kobo_time(submitted_at: str | None) -> str:
    """Return a UTC moment as Kobo writes _submission_time (no offset)."""
    return (submitted_at or "").removesuffix("Z")


def _kobo_entry(form_id: str, sub: Submission, i: int) -> dict[str, Any]:
    questions = list(forms.questions(form_id).values())
    entry: dict[str, Any] = {"_id": 51000 + i, "formhub/uuid": "5ca1ab1e" * 4}
    for q in questions:
        if q.repeat is None and q.name in sub.values:
            entry[q.name] = sub.values[q.name]
        elif q.repeat is not None and q.repeat not in entry and sub.repeats.get(q.repeat):
            entry[q.repeat] = [
                {f"{q.repeat}/{name}": value for name, value in row.items()}
                for row in sub.repeats[q.repeat]
            ]
    first_point = next(
        (
            sub.values[q.name].split()
            for q in questions
            if q.type == "geopoint" and q.name in sub.values
        ),
        None,
    )
    entry |= {
        "__version__": "vSYNTHETICversion",
        "meta/instanceName": f"SYNTHETIC {form_id} {i + 1}",
        "meta/rootUuid": sub.instance_id,
        "meta/instanceID": sub.instance_id,
        "_xform_id_string": "aSYNTHETICassetUid",
        "_uuid": sub.instance_id.removeprefix("uuid:"),
        "_attachments": [],
        "_status": "submitted_via_web",
        "_geolocation": [float(first_point[0]), float(first_point[1])]
        if first_point
        else [None, None],
        "_submission_time": _kobo_time(sub.submitted_at),
        "_tags": [],
        "_notes": [],
        "_validation_status": {},
        "_submitted_by": sub.submitted_by,
    }
    return entry


def write_kobo_json(form_id: str, subs: list[Submission], path: Path) -> Path:
    """Write KoboToolbox's API data listing (``{"count", "next", "previous", "results"}``)."""
    document = {
        "count": len(subs),
        "next": None,
        "previous": None,
        "results": [_kobo_entry(form_id, sub, i) for i, sub in enumerate(subs)],
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _kobo_rows(form_id: str, subs: list[Submission]) -> tuple[list[str], list[list[str]]]:
    """Return the header and rows of Kobo's table of submissions (its CSV, its first sheet)."""
    columns = _columns(form_id, None, "/")
    header = [c for c, _ in columns] + ["meta/instanceID", *_KOBO_SYSTEM]
    rows = []
    for i, sub in enumerate(subs):
        cells = [_cell(c, q, sub.values, "") for c, q in columns]
        cells += [sub.instance_id, str(51000 + i), sub.instance_id.removeprefix("uuid:")]
        cells += [_kobo_time(sub.submitted_at), "", "", "submitted_via_web"]
        cells += [sub.submitted_by or "", "vSYNTHETICversion", "", str(i + 1)]
        rows.append(cells)
    return header, rows


# The columns formpack copies from a submission into each row of its repeat sheets.
_KOBO_COPIED = tuple(f"_submission_{c}" for c in _KOBO_SYSTEM if c != "_index")


def write_kobo_xlsx(form_id: str, subs: list[Submission], path: Path) -> Path:
    """Write KoboToolbox's XLSX export (XML values and headers), one sheet per repeat.

    Every cell is text, as formpack writes it. The workbook's times are fixed, so the same
    submissions give the same bytes.
    """
    import openpyxl

    book = openpyxl.Workbook()
    main = book.active
    main.title = form_id[:31]
    header, rows = _kobo_rows(form_id, subs)
    main.append(header)
    for cells in rows:
        main.append(cells)
    repeats = dict.fromkeys(q.repeat for q in forms.questions(form_id).values() if q.repeat)
    for repeat in repeats:
        sheet = book.create_sheet(repeat[:31])
        columns = _columns(form_id, repeat, "/")
        sheet.append(
            [f"{repeat}/{c}" for c, _ in columns]
            + ["_parent_table_name", "_parent_index", *_KOBO_COPIED]
        )
        for i, (sub, main_cells) in enumerate(zip(subs, rows, strict=True)):
            copied = main_cells[len(header) - len(_KOBO_SYSTEM) : -1]
            for answers in sub.repeats.get(repeat, []):
                cells = [_cell(c, q, answers, "") for c, q in columns]
                sheet.append([*cells, main.title, str(i + 1), *copied])
    moment = dt.datetime(2026, 11, 1)
    book.properties.created = book.properties.modified = moment
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(_fixed_zip(buffer.getvalue()))
    return path


def _fixed_zip(data: bytes) -> bytes:
    """Return a workbook again with every member dated 1980-01-01 and its modified time that
    of its creation (openpyxl writes the time of saving): the same bytes each run."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "docProps/core.xml":
                text = content.decode()
                created = re.search(r"<dcterms:created[^>]*>([^<]*)<", text)
                assert created is not None
                text = re.sub(
                    r"(<dcterms:modified[^>]*>)[^<]*(<)", rf"\g<1>{created[1]}\g<2>", text
                )
                content = text.encode()
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, content)
    return out.getvalue()


def write_kobo_csv(form_id: str, subs: list[Submission], path: Path, delimiter: str = ";") -> Path:
    """Write KoboToolbox's CSV export (XML values and headers; repeats are left out)."""
    header, rows = _kobo_rows(form_id, subs)
    text = _csv_text(header, rows, delimiter=delimiter, quoting=csv.QUOTE_ALL)
    path.write_text(text, encoding="utf-8", newline="")
    return path
