"""Readers of field submissions as ODK Central and KoboToolbox export them.

`read_submissions` tells the format from the file's content and reads:

- ODK Central's CSV export: the ZIP that holds ``<form_id>.csv`` and one
  ``<form_id>-<repeat>.csv`` per repeat (rows linked by ``KEY`` / ``PARENT_KEY``), or the main
  CSV alone (then without repeat rows). Groups are joined with ``-``, a geopoint is split in
  ``-Latitude -Longitude -Altitude -Accuracy`` columns (rebuilt here into one value), a
  select_multiple has one ``name/choice`` column per choice besides its own (ignored here).
- ODK Central's OData JSON (``{"value": [...]}``, as pyodk's ``get_table(expand="*")`` gives
  it): groups as nested objects, geopoints and geoshapes as GeoJSON, repeats inline.
- KoboToolbox's CSV export with XML values and headers (``;`` or ``,`` separated, groups
  joined with ``/``). Kobo writes no repeats to CSV, so a submission read from a Kobo CSV
  carries no repeat rows; the mapping flags what is then missing. A geopoint is its combined
  column (rebuilt from ``_<name>_latitude``... when empty).
- KoboToolbox's XLSX export with XML values and headers: the first sheet holds the
  submissions as the CSV does, with an ``_index``; each repeat has a sheet of its own, named
  after it, whose rows name their parent sheet and row (``_parent_table_name``,
  ``_parent_index``). A repeat nested in another joins the submission's repeats under its
  own name. Cells Excel typed (numbers, dates) are read back as ODK text.
- KoboToolbox's API JSON (``{"count": .., "results": [...]}`` or a bare list): keys carry the
  group path (``grp/name``), repeats are arrays whose entries' keys carry the repeat's path.

Whatever the input, each submission comes back as a `Submission` whose values are ODK's text
encoding, keyed by the last part of each question's path. A question name containing ``-``
or ``/`` cannot be told from its groups and is not supported. Anything that cannot be read
raises `ValidationError` naming the file and row (the record) and the column (the field).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from landrelease.domain.errors import ValidationError
from landrelease.field.forms import FORM_IDS, questions
from landrelease.field.submission import Submission

# Columns ODK Central adds to its tables besides the form's own fields.
_ODK_SYSTEM = frozenset(
    {
        "SubmissionDate",
        "KEY",
        "PARENT_KEY",
        "SubmitterID",
        "SubmitterName",
        "AttachmentsPresent",
        "AttachmentsExpected",
        "Status",
        "ReviewState",
        "DeviceID",
        "Edits",
        "FormVersion",
    }
)
# The form's metadata, as Central names it when asked for no group paths (groupPaths=false).
_ODK_META = frozenset({"instanceID", "instanceName", "deprecatedID"})
_ODK_GEOPOINT_PARTS = ("-Latitude", "-Longitude", "-Altitude", "-Accuracy")
_KOBO_GEOPOINT_PARTS = ("latitude", "longitude", "altitude", "precision")
_REPEAT_FILE_COPY = re.compile(r"~\d+$")  # Central's suffix when two repeats share a name

Row = dict[str, str]


def read_submissions(path: str | Path, form_id: str | None = None) -> list[Submission]:
    """Return the submissions in an ODK Central or KoboToolbox export file, in file order.

    `form_id` names the form when the file does not: otherwise each submission's
    ``landrelease_form`` answer does, and last the name of an ODK Central CSV.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(path.name, None, f"cannot read the file: {exc.strerror}") from None
    if not data.strip():
        raise ValidationError(path.name, None, "the file is empty")
    if data.startswith(b"PK"):
        if _is_xlsx(data):
            return _read_kobo_xlsx(data, path.name, form_id)
        return _read_odk_zip(data, path.name, form_id)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return _read_json(data, path.name, form_id)
    header, rows = _csv_table(data, path.name)
    if "PARENT_KEY" in header:
        raise ValidationError(
            path.name,
            "PARENT_KEY",
            "this is the table of a repeat alone; read the ZIP ODK Central exports, which "
            "holds the form's main table beside it",
        )
    if "KEY" in header and "SubmissionDate" in header:
        return [
            _odk_submission(row, {}, f"{path.name} row {n}", form_id, path.stem) for n, row in rows
        ]
    if "_uuid" in header or "_submission_time" in header:
        return [
            _kobo_csv_submission(header, row, f"{path.name} row {n}", form_id) for n, row in rows
        ]
    raise ValidationError(
        path.name,
        None,
        "unknown format: expected an ODK Central export (ZIP, CSV or OData JSON) or a "
        "KoboToolbox export (CSV or XLSX with XML values and headers, or API JSON)",
    )


# -- what every format shares -----------------------------------------------------------------


def _submission(
    values: Row,
    repeats: dict[str, list[Row]],
    *,
    source: str,
    form_id: str | None,
    fallback_form: str | None,
    instance_id: str | None,
    instance_field: str,
    deprecated_id: str | None,
    submitted_by: str | None,
    submitted_at: str | None,
    time_field: str,
) -> Submission:
    """Return one submission once its form and instance id are known and its time is UTC."""
    if not instance_id:
        raise ValidationError(source, instance_field, "the submission has no instance id")
    return Submission(
        form_id=_form_of(form_id, values.get("landrelease_form"), fallback_form, source),
        instance_id=instance_id,
        submitted_by=submitted_by or None,
        submitted_at=_utc(submitted_at, source, time_field) if submitted_at else None,
        values=values,
        repeats=repeats,
        source=source,
        deprecated_id=deprecated_id or None,
    )


def _form_of(argument: str | None, carried: str | None, fallback: str | None, source: str) -> str:
    """Return the form a submission is of: as named by the caller, the answers or the file."""
    if argument and carried and argument != carried:
        raise ValidationError(
            source,
            "landrelease_form",
            f"the submission is of form {carried!r}, not {argument!r} as asked",
        )
    form = argument or carried or fallback
    if form not in FORM_IDS:
        told = f"{form!r} is not one of the forms" if form else "cannot tell which form this is"
        raise ValidationError(
            source, "landrelease_form", f"{told}; name one of {', '.join(FORM_IDS)}"
        )
    return form


def _utc(text: str, source: str, field: str) -> str:
    """Return an ISO 8601 moment as UTC to the second (``2026-11-12T09:31:05Z``).

    A moment without an offset is UTC, as KoboToolbox writes ``_submission_time``.
    """
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(source, field, f"{text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number_text(value: float, source: str, field: str) -> str:
    """Return a JSON number as ODK writes it: integers plain, coordinates as decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(source, field, f"{value!r} is not a number")
    return repr(float(value))


def _scalar_text(value: Any, source: str, field: str) -> str:
    """Return a JSON answer as ODK text: strings as they are, integers as decimal text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise ValidationError(
        source, field, f"cannot read {type(value).__name__} {value!r} as an answer"
    )


# -- CSV tables -------------------------------------------------------------------------------


def _csv_table(data: bytes, where: str) -> tuple[list[str], list[tuple[int, Row]]]:
    """Return a CSV file's header and its rows (numbered as a spreadsheet shows them).

    The separator is ``;`` when the header holds more of them than commas (KoboToolbox's
    default), else ``,``.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _not_utf8(data, where) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    records = _csv_records(text, where, delimiter)
    if not records:
        raise ValidationError(where, None, "the file holds no header")
    header = [name.strip() for name in records[0][1]]
    rows = []
    for n, cells in records[1:]:
        if len(cells) != len(header):
            field = header[len(cells)] if len(cells) < len(header) else None
            raise ValidationError(
                f"{where} row {n}",
                field,
                f"has {len(cells)} values where the header names {len(header)} columns "
                "(a truncated or damaged file?)",
            )
        rows.append((n, dict(zip(header, cells, strict=True))))
    return header, rows


def _csv_records(text: str, where: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Return the non-blank records of a CSV text, each with its row number (header = 1)."""
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((len(records) + 1, cells))
    except csv.Error as exc:
        raise ValidationError(f"{where} row {len(records) + 1}", None, f"not CSV: {exc}") from None
    return records


def _not_utf8(data: bytes, where: str) -> ValidationError:
    """Return the error for a file that is not UTF-8, naming the first cell that is not."""
    text = data.decode("utf-8-sig", errors="replace")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    records = _csv_records(text, where, delimiter)
    header = records[0][1] if records else []
    for n, cells in records:
        for i, cell in enumerate(cells):
            if "\ufffd" in cell:
                field = header[i] if n > 1 and i < len(header) else None
                return ValidationError(
                    f"{where} row {n}", field, "not UTF-8 text; export the file again as UTF-8"
                )
    return ValidationError(where, None, "not UTF-8 text; export the file again as UTF-8")


# -- ODK Central CSV --------------------------------------------------------------------------


def _read_odk_zip(data: bytes, name: str, form_id: str | None) -> list[Submission]:
    """Return the submissions of an ODK Central CSV ZIP, each with its repeat rows."""
    tables: dict[str, tuple[list[str], list[tuple[int, Row]]]] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                member = PurePosixPath(info.filename).name
                if info.is_dir() or not member.lower().endswith(".csv"):
                    continue
                try:
                    content = archive.read(info)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise ValidationError(
                        f"{name}:{member}", None, f"damaged in the ZIP archive: {exc}"
                    ) from None
                tables[member] = _csv_table(content, f"{name}:{member}")
    except zipfile.BadZipFile as exc:
        raise ValidationError(
            name, None, f"not a readable ZIP archive (truncated or damaged?): {exc}"
        ) from None
    mains = [member for member, (header, _) in tables.items() if "PARENT_KEY" not in header]
    if not tables:
        raise ValidationError(
            name,
            None,
            "the ZIP holds no CSV file and is no XLSX workbook: export CSV (ODK Central, "
            "KoboToolbox), XLSX (KoboToolbox) or JSON (OData, the KoboToolbox API)",
        )
    if len(mains) != 1:
        raise ValidationError(
            name,
            None,
            "an ODK Central export holds one main CSV beside its repeat CSVs; "
            f"found {len(mains)} ({', '.join(mains) or 'none'})",
        )
    main = mains[0]
    header, rows = tables[main]
    if "KEY" not in header:
        raise ValidationError(f"{name}:{main}", "KEY", "not an ODK Central export: no KEY column")
    form_stem = PurePosixPath(main).stem
    repeats = _odk_repeat_rows(tables, main, form_stem, name)
    known = {row.get("KEY", "") for _, row in rows}
    for (member, n, parent), _ in repeats.items():
        if parent not in known:
            raise ValidationError(
                f"{name}:{member} row {n}",
                "PARENT_KEY",
                f"{parent!r} is the key of no submission in {main}",
            )
    by_parent: dict[str, dict[str, list[Row]]] = {}
    for (_, _, parent), (repeat, row) in repeats.items():
        by_parent.setdefault(parent, {}).setdefault(repeat, []).append(row)
    return [
        _odk_submission(
            row, by_parent.get(row.get("KEY", ""), {}), f"{name}:{main} row {n}", form_id, form_stem
        )
        for n, row in rows
    ]


def _odk_repeat_rows(
    tables: dict[str, tuple[list[str], list[tuple[int, Row]]]], main: str, stem: str, name: str
) -> dict[tuple[str, int, str], tuple[str, Row]]:
    """Return every repeat row of a ZIP, in file order, keyed by (file, row, submission KEY).

    A repeat nested in another is linked to its row there (``uuid:...-/item[2]``); its rows
    join the submission's other repeats under their own name.
    """
    found: dict[tuple[str, int, str], tuple[str, Row]] = {}
    for member, (header, rows) in tables.items():
        if member == main:
            continue
        member_stem = PurePosixPath(member).stem
        if not member_stem.startswith(f"{stem}-"):
            raise ValidationError(
                f"{name}:{member}",
                None,
                f"not a repeat table of {main} (named {stem}-<repeat>.csv)",
            )
        repeat = _REPEAT_FILE_COPY.sub("", member_stem[len(stem) + 1 :])
        for n, row in rows:
            parent = row.get("PARENT_KEY", "").split("/", 1)[0]
            found[(member, n, parent)] = (repeat, _odk_answers(header, row))
    return found


def _odk_answers(header: list[str], row: Row) -> Row:
    """Return a Central table row's answers by question name, geopoints joined again."""
    answers: Row = {}
    for column in header:
        if column in _ODK_SYSTEM or column.startswith("meta-") or column in _ODK_META:
            continue  # Central's own columns and the form's metadata
        if "/" in column:
            continue  # the 0/1 column of one choice of a select_multiple
        if column.endswith(_ODK_GEOPOINT_PARTS):
            if not column.endswith("-Latitude"):
                continue
            base = column.removesuffix("-Latitude")
            value = _joined([row.get(base + part, "") for part in _ODK_GEOPOINT_PARTS])
        else:
            base, value = column, row[column].strip()
        if value:
            answers[base.rsplit("-", 1)[-1]] = value
    return answers


def _joined(parts: list[str]) -> str:
    """Return a geopoint's parts as one ODK value, or '' when it has no position."""
    parts = [part.strip() for part in parts]
    if not (parts[0] and parts[1]):
        return ""
    while not parts[-1]:
        parts.pop()
    return " ".join(part or "0.0" for part in parts)


def _odk_submission(
    row: Row, repeats: dict[str, list[Row]], source: str, form_id: str | None, stem: str
) -> Submission:
    """Return the submission of one row of Central's main table."""
    if row.get("Status", "").strip():
        raise ValidationError(source, "Status", f"ODK Central could not read it: {row['Status']}")
    return _submission(
        _odk_answers(list(row), row),
        repeats,
        source=source,
        form_id=form_id,
        fallback_form=stem,
        instance_id=row.get("meta-instanceID", "").strip() or row.get("KEY", "").strip(),
        instance_field="meta-instanceID",
        deprecated_id=(row.get("meta-deprecatedID") or row.get("deprecatedID") or "").strip(),
        submitted_by=row.get("SubmitterName", "").strip(),
        submitted_at=row.get("SubmissionDate", "").strip(),
        time_field="SubmissionDate",
    )


# -- KoboToolbox CSV --------------------------------------------------------------------------


def _kobo_csv_submission(
    header: list[str], row: Row, source: str, form_id: str | None
) -> Submission:
    """Return the submission of one row of a KoboToolbox CSV export (without repeat rows)."""
    return _kobo_table_submission(header, row, {}, source, form_id)


def _kobo_table_submission(
    header: list[str],
    row: Row,
    repeats: dict[str, list[Row]],
    source: str,
    form_id: str | None,
) -> Submission:
    """Return the submission of one row of a Kobo CSV or of the first sheet of its XLSX."""
    uuid = row.get("_uuid", "").strip()
    answers = _kobo_answers(header, row)
    form = _form_of(form_id, answers.get("landrelease_form"), None, source)
    if answers and not set(answers) & (set(questions(form)) - {"landrelease_form"}):
        raise ValidationError(
            source,
            None,
            f"no column names a question of form {form!r} (headers written as labels?): "
            "export again with 'XML values and headers'",
        )
    return _submission(
        answers,
        repeats,
        source=source,
        form_id=form_id,
        fallback_form=None,
        instance_id=row.get("meta/instanceID", "").strip() or (f"uuid:{uuid}" if uuid else None),
        instance_field="meta/instanceID",
        deprecated_id=row.get("meta/deprecatedID", "").strip(),
        submitted_by=row.get("_submitted_by", "").strip(),
        submitted_at=row.get("_submission_time", "").strip(),
        time_field="_submission_time",
    )


def _kobo_answers(header: list[str], row: Row) -> Row:
    """Return the answers of a row of a Kobo table by question name, geopoints joined."""
    columns = set(header)
    answers: Row = {}
    for column in header:
        group, _, name = column.rpartition("/")
        if name.startswith("_") or group in ("meta", "formhub"):
            continue  # Kobo's own columns and the split parts of geopoints
        if group in columns:
            continue  # a 0/1 column of one choice of a select_multiple
        value = row[column].strip()
        if not value:
            prefix = f"{group}/" if group else ""
            value = _joined(
                [row.get(f"{prefix}_{name}_{part}", "") for part in _KOBO_GEOPOINT_PARTS]
            )
        if value:
            answers[name] = value
    return answers


# -- KoboToolbox XLSX -------------------------------------------------------------------------


def _is_xlsx(data: bytes) -> bool:
    """Tell whether ZIP bytes are an Office Open XML workbook."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _read_kobo_xlsx(data: bytes, name: str, form_id: str | None) -> list[Submission]:
    """Return the submissions of a KoboToolbox XLSX export, each with its repeat rows."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = {
            sheet.title: _sheet_table(sheet, f"{name}:{sheet.title}") for sheet in book.worksheets
        }
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError) as exc:
        raise ValidationError(
            name, None, f"not a readable XLSX workbook (truncated or damaged?): {exc}"
        ) from None
    if not sheets:
        raise ValidationError(name, None, "the workbook has no sheet")
    main = next(iter(sheets))
    header, rows = sheets[main]
    if {"type", "name"} <= set(header) and main.lower() == "survey":
        raise ValidationError(
            name, None, "this is an XLSForm (a form), not an export of its submissions"
        )
    if "_uuid" not in header and "meta/instanceID" not in header:
        raise ValidationError(
            f"{name}:{main}",
            "_uuid",
            "not a KoboToolbox export: its first sheet has no _uuid or meta/instanceID column "
            "(export with XML values and headers)",
        )
    # (sheet, its _index) -> the row of the main sheet it belongs to
    owner: dict[tuple[str, str], int] = {}
    if rows and len(sheets) > 1 and "_index" not in header:
        raise ValidationError(
            f"{name}:{main}", "_index", "the repeat sheets cannot be linked: no _index column"
        )
    for n, row in rows:
        owner[(main, row.get("_index", "").strip())] = n
    repeats: dict[int, dict[str, list[Row]]] = {}
    for title, (sheet_header, sheet_rows) in list(sheets.items())[1:]:
        for column in ("_parent_table_name", "_parent_index"):
            if column not in sheet_header:
                raise ValidationError(
                    f"{name}:{title}", column, f"not a repeat sheet of {main}: no {column} column"
                )
        for n, row in sheet_rows:
            where = f"{name}:{title} row {n}"
            parent = (row["_parent_table_name"].strip(), row["_parent_index"].strip())
            if parent not in owner:
                raise ValidationError(
                    where,
                    "_parent_index",
                    f"row _index {parent[1]!r} of sheet {parent[0]!r} is in the workbook nowhere",
                )
            main_row = owner[parent]
            if "_index" in sheet_header:  # a repeat with repeats of its own
                owner[(title, row["_index"].strip())] = main_row
            repeats.setdefault(main_row, {}).setdefault(title, []).append(
                _kobo_answers(sheet_header, row)
            )
    return [
        _kobo_table_submission(header, row, repeats.get(n, {}), f"{name}:{main} row {n}", form_id)
        for n, row in rows
    ]


def _sheet_table(sheet: Any, where: str) -> tuple[list[str], list[tuple[int, Row]]]:
    """Return a sheet's header and its non-blank rows as text, numbered as Excel shows them."""
    header: list[str] = []
    rows: list[tuple[int, Row]] = []
    for n, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        if n == 1:
            header = [_cell_text(c, where, "").strip() for c in cells]
            continue
        columns = header + [""] * (len(cells) - len(header))
        texts = [
            _cell_text(c, f"{where} row {n}", column)
            for c, column in zip(cells, columns, strict=False)
        ]
        if not any(t.strip() for t in texts):
            continue
        texts = (texts + [""] * len(header))[: len(header)]
        rows.append((n, dict(zip(header, texts, strict=True))))
    return header, rows


def _cell_text(value: Any, where: str, column: str) -> str:
    """Return a cell as ODK text: Kobo writes text, but a workbook saved again in Excel may
    hold numbers and dates."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return _scalar_text(value, where, column)


# -- JSON: ODK Central OData and the KoboToolbox API ------------------------------------------


def _read_json(data: bytes, name: str, form_id: str | None) -> list[Submission]:
    """Return the submissions of an OData or KoboToolbox API JSON document."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationError(name, None, "not UTF-8 text; download the file again") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            name, None, f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    return read_document(document, name, form_id)


def read_document(document: Any, name: str, form_id: str | None = None) -> list[Submission]:
    """Return the submissions of a parsed OData (ODK Central) or KoboToolbox API document;
    `name` says where it came from in messages."""
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        key, entries = "value", document["value"]
    elif isinstance(document, dict) and isinstance(document.get("results"), list):
        key, entries = "results", document["results"]
    elif isinstance(document, list):
        key, entries = "", document
    else:
        raise ValidationError(
            name,
            None,
            'not a submissions export: expected OData JSON ({"value": [...]}) or a '
            'KoboToolbox API listing ({"results": [...]} or a list)',
        )
    submissions = []
    for i, entry in enumerate(entries):
        source = f"{name} {key}[{i}]"
        if isinstance(entry, dict) and "__id" in entry:
            submissions.append(_odata_submission(entry, source, form_id))
        elif isinstance(entry, dict) and ("_uuid" in entry or "meta/instanceID" in entry):
            submissions.append(_kobo_json_submission(entry, source, form_id))
        else:
            raise ValidationError(
                source, None, "not a submission: it has neither __id (OData) nor _uuid (Kobo)"
            )
    return submissions


def _odata_submission(entry: dict[str, Any], source: str, form_id: str | None) -> Submission:
    """Return the submission of one OData entry of ODK Central (repeats expanded inline)."""
    system = entry.get("__system") or {}
    if system.get("status"):
        raise ValidationError(
            source, "__system/status", f"ODK Central could not read it: {system['status']}"
        )
    meta = entry.get("meta") or {}
    values: Row = {}
    repeats: dict[str, list[Row]] = {}
    _odata_walk(entry, "", values, repeats, source)
    return _submission(
        values,
        repeats,
        source=source,
        form_id=form_id,
        fallback_form=None,
        instance_id=str(meta.get("instanceID") or entry.get("__id") or ""),
        instance_field="meta/instanceID",
        deprecated_id=meta.get("deprecatedID"),
        submitted_by=system.get("submitterName"),
        submitted_at=system.get("submissionDate"),
        time_field="__system/submissionDate",
    )


def _odata_walk(
    node: dict[str, Any], path: str, values: Row, repeats: dict[str, list[Row]], source: str
) -> None:
    """Add the answers of an OData object to `values` and its repeats' rows to `repeats`."""
    for key, value in node.items():
        if key.startswith("__") or "@odata." in key or (not path and key == "meta"):
            continue
        field = f"{path}{key}"
        if value is None or value == "":
            continue
        if isinstance(value, list):
            rows = repeats.setdefault(key, [])
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    raise ValidationError(source, f"{field}[{i + 1}]", "not a repeat entry")
                row: Row = {}
                _odata_walk(item, f"{field}[{i + 1}]/", row, repeats, source)
                rows.append(row)
        elif isinstance(value, dict) and "coordinates" in value:
            values[key] = geo_text(value, source, field)
        elif isinstance(value, dict):
            _odata_walk(value, f"{field}/", values, repeats, source)
        else:
            values[key] = _scalar_text(value, source, field)


def geo_text(geometry: dict[str, Any], source: str, field: str) -> str:
    """Return an OData GeoJSON geopoint, geotrace or geoshape as ODK's text encoding.

    Central writes a geopoint as ``{"type": "Point", "coordinates": [lon, lat, alt],
    "properties": {"accuracy": acc}}`` and a geoshape as a Polygon whose one ring's points'
    accuracies are ``properties.accuracies``; the text is ``"lat lon alt acc"``, the points of
    a shape joined by ``";"``.
    """
    kind = geometry.get("type")
    coordinates: Any = geometry.get("coordinates")
    properties = geometry.get("properties") or {}
    try:
        if kind == "Point":
            return _point_text(coordinates, properties.get("accuracy"), source, field)
        if kind in ("Polygon", "LineString"):
            line = coordinates[0] if kind == "Polygon" else coordinates
            accuracies = properties.get("accuracies") or [None] * len(line)
            return ";".join(
                _point_text(point, accuracy, source, field)
                for point, accuracy in zip(line, accuracies, strict=True)
            )
    except (TypeError, IndexError, ValueError):
        pass
    raise ValidationError(
        source, field, f"not a GeoJSON Point, LineString or Polygon: {geometry!r}"
    )


def _point_text(position: list[float], accuracy: float | None, source: str, field: str) -> str:
    """Return one GeoJSON position (lon, lat[, alt]) and its accuracy as ``"lat lon alt acc"``."""
    if not 2 <= len(position) <= 3:
        raise ValueError("a position has two or three numbers")
    parts = [position[1], position[0], *position[2:]]
    if accuracy is not None:
        parts = [*parts, 0.0][:3] + [accuracy]
    return " ".join(_number_text(part, source, field) for part in parts)


def _kobo_json_submission(entry: dict[str, Any], source: str, form_id: str | None) -> Submission:
    """Return the submission of one entry of the KoboToolbox API's data listing."""
    values: Row = {}
    repeats: dict[str, list[Row]] = {}
    _kobo_walk(entry, values, repeats, source)
    uuid = str(entry.get("_uuid") or "")
    return _submission(
        values,
        repeats,
        source=source,
        form_id=form_id,
        fallback_form=None,
        instance_id=str(entry.get("meta/instanceID") or (f"uuid:{uuid}" if uuid else "")),
        instance_field="meta/instanceID",
        deprecated_id=entry.get("meta/deprecatedID"),
        submitted_by=entry.get("_submitted_by"),
        submitted_at=entry.get("_submission_time"),
        time_field="_submission_time",
    )


def _kobo_walk(
    node: dict[str, Any], values: Row, repeats: dict[str, list[Row]], source: str
) -> None:
    """Add the answers of a Kobo entry to `values` and its repeats' rows to `repeats`."""
    for key, value in node.items():
        group, _, name = key.rpartition("/")
        if name.startswith("_") or group.split("/", 1)[0] in ("meta", "formhub"):
            continue  # Kobo's own keys (_id, _geolocation, _attachments...) and metadata
        if value is None or value == "":
            continue
        if isinstance(value, list):
            rows = repeats.setdefault(name, [])
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    raise ValidationError(source, f"{key}[{i + 1}]", "not a repeat entry")
                row: Row = {}
                _kobo_walk(item, row, repeats, source)
                rows.append(row)
        else:
            values[name] = _scalar_text(value, source, key)
