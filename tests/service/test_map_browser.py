"""The web map and the public warning map in a real browser (Debian's chromium, headless,
software WebGL) against a real `landrelease serve` over a copy of the synthetic demo registry.

The map is exposed as `window.map`; the tests wait for its `idle` event and read what it drew
with `queryRenderedFeatures()`. The screenshot of the demo map is kept as docs/map.png.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import pytest
from tests.service.conftest import serving_copy

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

DOCS_MAP = Path(__file__).resolve().parents[2] / "docs" / "map.png"
HAZARD_LAYERS = ["hazard-fill", "hazard-centres"]

# Every visible text node of the page (and placeholders), but for values of the registry
# (translate="no"), the map's own controls and unselected options.
VISIBLE_TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement;
    const s = n.textContent.trim();
    const skip = '[translate=no], .maplibregl-ctrl, .maplibregl-marker, script, style, option';
    if (!s || !p || p.closest(skip)) continue;
    if (!p.checkVisibility()) continue;
    out.push(s);
  }
  for (const sel of document.querySelectorAll('select')) {
    if (sel.checkVisibility() && sel.selectedOptions.length)
      out.push(sel.selectedOptions[0].text.trim());
  }
  for (const i of document.querySelectorAll('[placeholder]'))
    if (i.checkVisibility()) out.push(i.placeholder);
  return out;
}"""

WAIT_IDLE = """() => new Promise((done) => {
  map.once('idle', () => done(true));
  map.triggerRepaint();
})"""

# Distinct colours of the map's canvas (drawn with preserveDrawingBuffer).
CANVAS_COLOURS = """() => {
  const src = map.getCanvas();
  const c = document.createElement('canvas');
  c.width = src.width; c.height = src.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(src, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  return seen.size;
}"""


@pytest.fixture(scope="module")
def served(
    demo_db: Path, demo_tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A server of a copy of the demo registry in a process of its own: its URL and path."""
    folder = tmp_path_factory.mktemp("browser")
    with serving_copy(demo_db, folder, log_requests=False) as (url, path, _log):
        yield {"url": url, "path": path, "tokens": demo_tokens}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, with software WebGL."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new page in a context of its own (no cookies), with its console errors recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 850}, locale="en-GB")
    pg = context.new_page()
    pg.errors = []
    # A failed request is logged by chromium without its URL: record it with the URL instead.
    failed = "Failed to load resource"
    pg.on(
        "console",
        lambda m: pg.errors.append(m.text) if m.type == "error" and failed not in m.text else None,
    )
    pg.on(
        "response", lambda r: pg.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


def open_map(page: Any, url: str) -> None:
    """Go to `url` and wait until the map has drawn the areas of its first view."""
    page.goto(url)
    try:
        page.wait_for_function(
            # window.map is the map's <div> (named access) until the script replaces it
            "window.map && typeof map.loaded === 'function' && map.loaded()"
            " && document.querySelectorAll('#list li').length > 0",
            # generous: the suite's two passes share the machine's cores
            timeout=120_000,
        )
    except sync_api.TimeoutError:
        raise AssertionError(f"the map did not draw: {page.errors}") from None
    page.evaluate(WAIT_IDLE)


def sign_in(page: Any, url: str, name: str, token: str) -> None:
    """Sign in through the login form, which brings the browser back to the map."""
    page.goto(f"{url}/login?next=/")
    page.fill("#name", name)
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    page.wait_for_function("typeof state !== 'undefined' && state.user !== null", timeout=10_000)


def test_the_map_draws_the_demo_areas(served: dict[str, Any], page: Any) -> None:
    open_map(page, served["url"] + "/")
    drawn = page.evaluate(
        f"map.queryRenderedFeatures({{layers: {json.dumps(HAZARD_LAYERS)}}})"
        ".map(f => f.properties.ref)"
    )
    assert len(set(drawn)) > 200  # of the demo's 300 areas, in the view of all Ukraine
    assert page.evaluate(CANVAS_COLOURS) > 20, "the map's canvas is blank"
    assert page.locator("#list li").count() > 100
    assert page.errors == []
    DOCS_MAP.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS_MAP))


@pytest.mark.parametrize("path", ["/", "/public"])
def test_the_list_fills_when_the_settlements_come_after_the_map(
    served: dict[str, Any], page: Any, path: str
) -> None:
    # A server's first /settlements.geojson is slow (made once per process); the map may load,
    # and its tiles arrive, before it does. The page must not miss the map's events meanwhile.
    held: list[Any] = []
    page.route("**/settlements.geojson", lambda route: held.append(route))
    page.goto(served["url"] + path)
    page.wait_for_function(
        "window.map && typeof map.loaded === 'function' && map.loaded()"
        " && map.isSourceLoaded('hazards')",
        timeout=120_000,
    )
    assert held, "the page did not ask for the settlements"
    held[0].continue_()
    page.wait_for_function("document.querySelectorAll('#list li').length > 100", timeout=20_000)
    page.wait_for_function("document.querySelectorAll('.settlement').length > 0", timeout=20_000)
    assert page.errors == []


def test_a_click_on_an_area_opens_its_details(served: dict[str, Any], page: Any) -> None:
    open_map(page, served["url"] + "/")
    # A centre that lies alone (no other area within 8 px), so that the click means it alone.
    target = page.evaluate(
        """() => {
          for (const f of map.queryRenderedFeatures({layers: ['hazard-centres']})) {
            const p = map.project(f.geometry.coordinates);
            const near = map.queryRenderedFeatures([[p.x - 8, p.y - 8], [p.x + 8, p.y + 8]],
              {layers: ['hazard-centres', 'hazard-fill']});
            if (new Set(near.map(g => g.properties.ref)).size === 1)
              return {ref: f.properties.ref, x: p.x, y: p.y};
          }
          return null;
        }"""
    )
    assert target is not None
    page.locator("#map canvas").click(position={"x": target["x"], "y": target["y"]})
    page.wait_for_selector(f"#details-table[data-ref='{target['ref']}']", timeout=10_000)
    assert page.locator("#details").is_visible()
    assert page.errors == []


def test_the_language_switch_changes_every_visible_string(
    served: dict[str, Any], page: Any
) -> None:
    sign_in(page, served["url"], "editor", served["tokens"]["editor"])
    open_map(page, served["url"] + "/")
    page.evaluate("localStorage.setItem('landrelease.lang', 'en')")
    page.reload()
    open_map(page, served["url"] + "/")
    ref = page.evaluate("state.areas[0].properties.ref")
    page.evaluate(f"openArea(map, {json.dumps(ref)})")
    page.wait_for_selector("#history tr[data-version]")
    english = page.evaluate(VISIBLE_TEXTS)
    page.click("#lang")
    page.wait_for_function(
        "document.documentElement.lang === 'uk' && "
        "[...document.querySelectorAll('#details-body h3')]"
        ".some(h => h.textContent === 'Історія змін') && "
        "document.querySelectorAll('#history tr[data-version]').length > 0"
    )
    ukrainian = page.evaluate(VISIBLE_TEXTS)
    numbers = re.compile(r"^[\d\s.,:;%#–\-→()]*$")
    same = {s for s in set(english) & set(ukrainian) if not numbers.match(s)}
    assert same == set()
    assert any("підозрювана небезпечна територія" in s for s in ukrainian)
    # the choice is remembered
    page.reload()
    page.wait_for_function("document.documentElement.lang === 'uk'")
    assert page.errors == []


def test_an_editor_changes_a_status_from_the_map(served: dict[str, Any], page: Any) -> None:
    sign_in(page, served["url"], "editor", served["tokens"]["editor"])
    open_map(page, served["url"] + "/")
    ref = page.evaluate("state.areas.find(a => a.properties.status === 'suspected').properties.ref")
    page.fill("#search-text", ref)
    page.click("#search button[type=submit]")
    page.wait_for_selector(f"#details-table[data-ref='{ref}'] #details-version")
    before = int(page.inner_text("#details-version"))
    page.select_option("#status-new", "confirmed")
    page.fill("#status-reason", "synthetic test: confirmed by technical survey")
    page.click("#status-form button[type=submit]")
    page.wait_for_function(
        f"document.querySelector('#details-version')?.textContent === '{before + 1}'",
        timeout=10_000,
    )
    assert page.get_attribute("#details-status", "data-status") == "confirmed"
    newest = page.locator("#history tr[data-version]").first
    assert newest.get_attribute("data-version") == str(before + 1)
    assert newest.locator(".actor").inner_text() == "editor"
    # a change the lifecycle refuses shows the problem in the form
    page.select_option("#status-new", "suspected")
    page.click("#status-form button[type=submit]")
    page.wait_for_selector("#status-message .error")
    assert "confirmed" in page.inner_text("#status-message")
    exe = str(Path(sys.executable).with_name("landrelease"))
    out = subprocess.run(
        [exe, "history", ref, "--json", "--db", str(served["path"])],
        capture_output=True,
        text=True,
        check=True,
    )
    last = json.loads(out.stdout)[-1]
    assert (last["version"], last["actor"]) == (before + 1, "editor")
    assert last["changes"]["status"] == ["suspected", "confirmed"]
    assert [e for e in page.errors if "409" not in e] == []  # the refusal is logged as a 409


def test_the_public_map_receives_only_public_tiles(served: dict[str, Any], page: Any) -> None:
    # signed in first: the public map must still ask as the public (no cookie)
    sign_in(page, served["url"], "viewer", served["tokens"]["viewer"])
    page.goto("about:blank")  # the signed-in map's tiles still in flight are not the public's
    bodies: list[tuple[str, bytes]] = []

    def record(response: Any) -> None:
        try:
            bodies.append((response.url, response.body()))
        except Exception:  # a redirect or an aborted request has no body
            pass

    page.on("response", record)
    open_map(page, served["url"] + "/public")
    ref = page.evaluate("state.areas[0].properties.ref")
    page.evaluate(f"openArea(map, {json.dumps(ref)})")
    page.wait_for_selector(f"#details-table[data-ref='{ref}']")
    assert page.locator("#warning").is_visible()
    assert "101" in page.inner_text("#warning") and "102" in page.inner_text("#warning")
    tilejson = [json.loads(b) for url, b in bodies if url.endswith("/tiles/hazards.json")]
    assert tilejson and all(
        set(doc["vector_layers"][0]["fields"])
        == {"ref", "status", "hazard_type", "contamination", "warning"}
        for doc in tilejson
    )
    tiles = [b for url, b in bodies if "/tiles/hazards/" in url and url.endswith(".mvt")]
    assert tiles  # the page drew the public tiles: their attributes are the public ones
    keys = {
        k
        for b in tiles
        for layer in mapbox_vector_tile.decode(b).values()
        for f in layer["features"]
        for k in f["properties"]
    }
    assert "warning" in keys and not keys & {"area_m2", "reported_on"}
    assert not any("/api/" in url or "/collections/" in url for url, _ in bodies)
    assert page.errors == []


def test_the_details_show_the_residual_curve(served: dict[str, Any], page: Any) -> None:
    sign_in(page, served["url"], "viewer", served["tokens"]["viewer"])
    open_map(page, served["url"] + "/")
    area = httpx.get(
        served["url"] + "/api/events?limit=1",
        headers={"Authorization": f"Bearer {served['tokens']['viewer']}"},
    ).json()["items"][0]["area_ref"]
    page.evaluate(f"openArea(map, {json.dumps(area)})")
    page.wait_for_selector(f"#details-table[data-ref='{area}']")
    page.wait_for_selector("#residual-chart path.expected", timeout=20_000)
    d = page.get_attribute("#residual-chart path.expected", "d")
    assert d is not None and d.count("L") > 10
    assert page.locator("#residual-chart path.band").count() == 1
    assert page.locator("#residual-chart line.mark.at").count() == 1
    assert page.errors == []


def test_a_user_colours_the_areas_by_priority_rank(served: dict[str, Any], page: Any) -> None:
    token = served["tokens"]["viewer"]
    ranking = httpx.get(
        served["url"] + "/api/priority?limit=1", headers={"Authorization": f"Bearer {token}"}
    ).json()
    first, n = ranking["rows"][0]["ref"], ranking["areas"]
    sign_in(page, served["url"], "viewer", token)
    open_map(page, served["url"] + "/")
    # offered once the tiles carry ranks and the ranking is read
    page.wait_for_selector("#colour-by-label:not([hidden])", timeout=20_000)
    page.select_option("#colour-by", "rank")
    page.evaluate(WAIT_IDLE)
    paint = page.evaluate("map.getPaintProperty('hazard-fill', 'fill-color')")
    assert paint[0] == "case" and paint[2][:3] == ["interpolate", ["linear"], ["get", "rank"]]
    stops = paint[2][3:]
    assert (stops[0], stops[-2]) == (1, n)  # the scale runs from rank 1 to the ranking's last
    strong, unranked = stops[1], paint[3]
    drawn_colours = """() => map.queryRenderedFeatures({layers: ['hazard-fill']}).map(f => ({
      ref: f.properties.ref, rank: f.properties.rank ?? null,
      colour: ['r', 'g', 'b'].map(c => f.layer.paint['fill-color'][c])}))"""

    def rgb(hex_colour: str) -> list[float]:
        return [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]

    # all Ukraine: the areas the ranking leaves out (closed ones) grey, the others paler than 1
    drawn = page.evaluate(drawn_colours)
    assert {d["rank"] is None for d in drawn} == {True, False}
    assert all(d["colour"] == pytest.approx(rgb(unranked)) for d in drawn if d["rank"] is None)
    assert all(d["colour"] != pytest.approx(rgb(strong)) for d in drawn if (d["rank"] or 1) > 1)
    # the area ranked 1, close up, as MapLibre drew it
    page.evaluate(
        f"""(() => {{
          const b = state.areas.find(a => a.properties.ref === {json.dumps(first)})._bbox;
          map.fitBounds([[b[0], b[1]], [b[2], b[3]]], {{maxZoom: 13, padding: 80, duration: 0}});
        }})()"""
    )
    page.evaluate(WAIT_IDLE)
    ranked_first = [d for d in page.evaluate(drawn_colours) if d["ref"] == first]
    assert ranked_first and all(d["rank"] == 1 for d in ranked_first)
    assert all(d["colour"] == pytest.approx(rgb(strong)) for d in ranked_first)
    # the legend is the rank scale of this ranking
    legend = page.inner_text("#legend")
    assert str(n) in page.inner_text("#rank-scale") and ranking["id"] in legend
    assert ranking["as_of"] in page.inner_text("#legend-ranking")
    # the choice is remembered
    page.reload()
    page.wait_for_function("state.colourBy === 'rank'", timeout=60_000)
    assert page.input_value("#colour-by") == "rank"
    assert page.errors == []
    # the public map offers no such choice
    open_map(page, served["url"] + "/public")
    assert page.locator("#colour-by").count() == 0
    assert page.evaluate("map.getPaintProperty('hazard-fill', 'fill-color')[0]") == "match"
    assert page.errors == []
