"""Write the committed samples of field exports in tests/data/field/ (all synthetic).

Run from the repository: ``.venv/bin/python tests/field/make_samples.py``. The same seed
gives the same files, so a rerun changes nothing unless the forms or the writers changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, import field.*

from field import filler  # noqa: E402
from landrelease.field.forms import FORM_IDS  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "field"
SEED = 19
PER_FILE = 3
KOBO_CSV_FORM = "nts_survey"


def write_samples(directory: Path = SAMPLES) -> list[Path]:
    """Write, for each form, its ODK Central ZIP, OData JSON, Kobo API JSON and Kobo XLSX;
    one Kobo CSV."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for form_id in FORM_IDS:
        subs = filler.fill(form_id, SEED, PER_FILE)
        written += [
            filler.write_odk_zip(form_id, subs, directory / f"{form_id}.csv.zip"),
            filler.write_odata_json(form_id, subs, directory / f"{form_id}.odata.json"),
            filler.write_kobo_json(form_id, subs, directory / f"{form_id}.kobo.json"),
            filler.write_kobo_xlsx(form_id, subs, directory / f"{form_id}.kobo.xlsx"),
        ]
    subs = filler.fill(KOBO_CSV_FORM, SEED, PER_FILE)
    written.append(
        filler.write_kobo_csv(KOBO_CSV_FORM, subs, directory / f"{KOBO_CSV_FORM}.kobo.csv")
    )
    return written


if __name__ == "__main__":
    for path in write_samples():
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
