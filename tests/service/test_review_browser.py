"""The review page in a real browser (Debian's chromium, headless, software WebGL) against a
real `landrelease serve` over a copy of the synthetic demo registry: a validator signs in,
opens a queued survey that redraws a demo area, sees the map draw the submitted outline over
the current one (dashed) and the field-by-field changes, and approves it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.service.conftest import serving_copy
from tests.service.test_review_api import area_edit, new_area, queue, queue_area_edit

from landrelease.domain.records import KINDS
from landrelease.registry import Registry
from landrelease.reviewing import code_labels

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOT = Path("/tmp/review-page.png")
SAMPLES = Path(__file__).parent.parent / "data" / "field"
WAIT_IDLE = """() => new Promise((done) => {
  map.once('idle', () => done(true));
  map.triggerRepaint();
})"""


@pytest.fixture
def served(demo_db: Path, demo_tokens: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A server of a copy of the demo registry in a process of its own: its URL and path."""
    with serving_copy(demo_db, tmp_path, log_requests=False) as (url, path, _log):
        yield {"url": url, "path": path, "tokens": demo_tokens}


@pytest.fixture
def page() -> Iterator[Any]:
    """A page of Debian's chromium (headless, software WebGL), its console errors recorded."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        context = browser.new_context(viewport={"width": 1500, "height": 900}, locale="en-GB")
        pg = context.new_page()
        pg.errors = []
        failed = "Failed to load resource"
        pg.on(
            "console",
            lambda m: (
                pg.errors.append(m.text) if m.type == "error" and failed not in m.text else None
            ),
        )
        pg.on(
            "response",
            lambda r: pg.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        yield pg
        browser.close()


def sign_in_to_review(page: Any, url: str, name: str, token: str) -> None:
    """Sign in through the login form, which brings the browser to the review page; wait
    until the map has loaded and the queue is listed."""
    page.goto(f"{url}/review")  # signed out: sent to the login form, and back after it
    page.wait_for_url(f"{url}/login?next=/review")
    page.fill("#name", name)
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/review")
    try:
        page.wait_for_function(
            "window.map && typeof map.loaded === 'function' && map.loaded()"
            " && document.querySelectorAll('#queue-body tr').length > 0",
            timeout=60_000,
        )
    except sync_api.TimeoutError:
        raise AssertionError(f"the review page did not load: {page.errors}") from None


def test_a_validator_reviews_an_edit_on_the_map_and_approves_it(
    served: dict[str, Any], page: Any
) -> None:
    submission_id, ref = queue_area_edit(served["path"])
    [flagged] = queue(served["path"], new_area(area_ref="UA-1999-99999"))
    sign_in_to_review(page, served["url"], "validator", served["tokens"]["validator"])
    assert page.locator(f"#queue-body tr[data-id='{submission_id}'] .flagged").count() == 0
    assert page.locator(f"#queue-body tr[data-id='{flagged}'] .flagged").inner_text() == "1"

    page.click(f"#queue-body tr[data-id='{submission_id}']")
    page.wait_for_selector(f"#submission-title[data-id='{submission_id}']")
    page.evaluate(WAIT_IDLE)
    drawn = page.evaluate(
        """() => ({
          submitted: map.queryRenderedFeatures({layers: ['submitted-fill']}).length,
          current: map.queryRenderedFeatures({layers: ['current-line']}).map(f => f.properties.ref),
          areas: map.queryRenderedFeatures({layers: ['hazard-fill']}).map(f => f.properties.ref),
        })"""
    )
    assert drawn["submitted"] > 0, "the submitted outline is not drawn"
    assert ref in drawn["current"], "the current outline is not drawn"
    assert ref in drawn["areas"], "the registry's areas are not drawn under it"
    changed = page.locator(".diff tr[data-field]").evaluate_all(
        "rows => rows.map(r => r.dataset.field)"
    )
    assert "evidence" in changed and "contamination" in changed
    assert page.locator("#flags .ok").is_visible()
    assert page.locator("#override").count() == 0  # no flag: no override asked
    page.screenshot(path=str(SCREENSHOT))

    # the queue is listed again slowly: the decision shows as done only once it is
    page.route("**/api/submissions?state=*", lambda route: (time.sleep(1), route.continue_()))
    page.click("#approve")
    page.wait_for_selector("#decision-message.done")
    assert page.locator(f"#queue-body tr[data-id='{submission_id}']").count() == 0  # decided
    page.unroute("**/api/submissions?state=*")
    token = served["tokens"]["viewer"]
    doc = httpx.get(
        f"{served['url']}/api/submissions/{submission_id}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert (doc["state"], doc["decided_by"], doc["refs"]) == ("approved", "validator", [ref])

    # the flagged one asks for a reason to approve over its flag
    page.click(f"#queue-body tr[data-id='{flagged}']")
    page.wait_for_selector(f"#submission-title[data-id='{flagged}']")
    assert page.locator("#flags li[data-field='area_ref']").is_visible()
    page.click("#approve")
    assert page.locator("#decision-message.error").is_visible()
    assert page.errors == []


def test_an_editor_queues_an_export_from_the_page(served: dict[str, Any], page: Any) -> None:
    sign_in_to_review(page, served["url"], "editor", served["tokens"]["editor"])
    before = page.locator("#queue-body tr").count()
    assert page.locator("#upload").is_visible()
    page.set_input_files("#upload-file", str(SAMPLES / "risk_education.csv.zip"))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#upload-message.done")
    assert page.locator("#upload-message").inner_text().startswith("3 queued")
    page.wait_for_function(f"document.querySelectorAll('#queue-body tr').length === {before + 3}")
    # the same export again: nothing new
    page.set_input_files("#upload-file", str(SAMPLES / "risk_education.csv.zip"))
    page.click("#upload button[type=submit]")
    page.wait_for_function(
        "document.getElementById('upload-message').innerText.startsWith('0 queued')"
    )
    assert page.locator("#queue-body tr").count() == before + 3
    assert page.errors == []


def test_a_viewer_sees_no_upload_form(served: dict[str, Any], page: Any) -> None:
    sign_in_to_review(page, served["url"], "viewer", served["tokens"]["viewer"])
    assert not page.locator("#upload").is_visible()


def test_an_editor_corrects_a_flagged_answer_on_the_page(served: dict[str, Any], page: Any) -> None:
    [flagged] = queue(served["path"], new_area("uuid:synthetic-fix-1", area_ref="UA-1999-99999"))
    sign_in_to_review(page, served["url"], "editor", served["tokens"]["editor"])
    page.click(f"#queue-body tr[data-id='{flagged}']")
    page.wait_for_selector(f"#submission-title[data-id='{flagged}']")
    fix = page.locator("#flags li[data-field='area_ref'] form.fix")
    assert fix.locator(".fix-value").input_value() == "UA-1999-99999"
    fix.locator(".fix-value").fill("")  # not an edit of a stored area: a new one
    fix.locator("button").click()
    page.wait_for_selector("#flags .ok")
    assert page.locator(f"#queue-body tr[data-id='{flagged}'] .flagged").count() == 0
    token = served["tokens"]["viewer"]
    doc = httpx.get(
        f"{served['url']}/api/submissions/{flagged}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert doc["flags"] == [] and "area_ref" not in doc["values"]
    assert doc["history"][-1]["action"] == "edited"
    assert page.errors == []


def test_an_editor_corrects_what_the_registry_would_refuse(
    served: dict[str, Any], page: Any
) -> None:
    # a survey calling a confirmed demo area an SHA: the registry's own check would refuse it
    with Registry.open(served["path"]) as reg:
        ref = str(reg.hazard_columns(status="confirmed", columns=["ref"], geometry=False)["ref"][0])
        survey = area_edit(reg, ref)
    survey.values["hazard_type"] = "SHA"
    [flagged] = queue(served["path"], survey)
    sign_in_to_review(page, served["url"], "editor", served["tokens"]["editor"])
    page.click(f"#queue-body tr[data-id='{flagged}']")
    page.wait_for_selector(f"#submission-title[data-id='{flagged}']")
    item = page.locator("#flags li[data-code='refused_edit'][data-field='hazard_type']")
    assert "a confirmed area is a CHA" in item.inner_text()
    page.screenshot(path="/tmp/review-refused-edit.png")
    fix = item.locator("form.fix")
    assert fix.locator(".fix-value").input_value() == "SHA"
    fix.locator(".fix-value").fill("CHA")
    fix.locator("button").click()
    page.wait_for_selector("#flags .ok")
    assert page.errors == []


def test_the_records_of_a_submission_show_their_codes_in_words(
    served: dict[str, Any], page: Any
) -> None:
    token = served["tokens"]["viewer"]
    queued = httpx.get(
        f"{served['url']}/api/submissions", headers={"Authorization": f"Bearer {token}"}
    ).json()["submissions"]
    [eod] = [q["id"] for q in queued if q["form_id"] == "eod_spot_task"]  # the demo's
    doc = httpx.get(
        f"{served['url']}/api/submissions/{eod}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    item = next(r for r in doc["records"] if r["kind"] == "items")
    category, state = item["values"]["category"], item["values"]["state"]
    sign_in_to_review(page, served["url"], "viewer", token)
    page.click(f"#queue-body tr[data-id='{eod}']")
    page.wait_for_selector(f"#submission-title[data-id='{eod}']")
    cell = "section.record[data-kind='items'] tr[data-field='{}'] td"
    # every field of the records an approval writes is named in words, not by its column
    names = "rows => rows.map(r => [r.dataset.field, r.querySelector('th').textContent])"
    for lang in ("en", "uk"):
        words = code_labels()[lang]["items"]
        shown = {f: page.locator(cell.format(f)).first.inner_text() for f in ("category", "state")}
        assert shown == {"category": words["category"][category], "state": words["state"][state]}
        fields = page.locator("section.record tr[data-field]").evaluate_all(names)
        assert len(fields) > 10
        assert [f for f, _ in fields if not page.evaluate(f"'{f}' in CODES.{lang}.field")] == []
        if lang == "uk":
            assert [f for f, label in fields if not re.search("[а-яіїєґ]", label)] == []
        # the queue's columns fit its panel, in either language
        overflow = "() => $('queue-table').offsetWidth - $('queue').clientWidth"
        assert page.evaluate(overflow) <= 0
        if lang == "en":
            page.click("#lang")
    page.screenshot(path="/tmp/review-codes.png")
    # and every field of every kind has its words in both languages
    every = sorted({f.name for k in KINDS.values() for f in k.fields if f.name != "version"})
    unnamed = "names => names.filter(n => !(n in CODES.en.field && n in CODES.uk.field))"
    assert page.evaluate(unnamed, every) == []
    assert page.errors == []
