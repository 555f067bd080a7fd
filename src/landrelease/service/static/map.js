// The web map of hazardous areas: MapLibre over vendored country outlines and the demo's
// settlements; hazard areas from the vector tiles (/tiles/hazards.json: exact outlines for a
// signed-in user, the public view for the public), filtered by MapLibre expressions on the
// tile attributes and listed here; details, history, residual estimate and curve and status
// changes from /api/.
// public.js starts the same map in public mode (no sign-in, the public view only).
"use strict";

const STATUSES = ["suspected", "confirmed", "in_progress", "cancelled", "reduced", "cleared", "released"];
const STATUS_COLOURS = {
  suspected: "#f28e2b", confirmed: "#d62728", in_progress: "#9467bd", cancelled: "#9e9e9e",
  reduced: "#4e9fd1", cleared: "#2ca02c", released: "#98df8a",
};
// By priority rank: strong for rank 1 (first to clear), pale for the last of the latest saved
// ranking, through an orange halfway (YlOrRd); an area the ranking leaves out is grey.
const RANK_COLOURS = ["#b10026", "#fd8d3c", "#ffeda0"];
const UNRANKED_COLOUR = "#a6a6a6";
const COLOUR_KEY = "landrelease.colour"; // "status" or "rank", remembered as the language is
const HAZARD_TYPES = ["SHA", "CHA"];
const CONTAMINATION = ["ap_mine", "av_mine", "cmr", "uxo", "axo", "ied"];
const UKRAINE = [[22.0, 44.2], [40.3, 52.4]];
const LIST_LIMIT = 200;
const PAGE_LIMIT = 5000;
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  publicOnly: false,
  user: null, // {name, role, permissions, csrf_token} once /api/me answers
  areas: [], // one per ref of the loaded tiles: {properties, _bbox, _centre}; _area_m2 in properties
  areasKey: "", // what the centres source was last given (a new setData only when it changes)
  settlements: [],
  selected: null,
  colourBy: "status", // or "rank", once the tiles carry ranks and the ranking is read
  ranking: null, // the latest saved ranking: {id, areas, as_of, created_at, created_by}
  rankingAsked: false,
};

/** Returns a value from the registry as a span the page never translates. */
const raw = (v) => el("span", { translate: "no" }, v === null || v === undefined ? "–" : String(v));

/** Returns the string `key` as nodes: its text, and each {name} of `vars` as a raw value. */
function tNodes(key, vars) {
  return t(key).split(/\{(\w+)\}/).map((part, i) => (i % 2 ? raw(vars[part]) : part)).filter((n) => n !== "");
}

/** Returns the JSON of a GET, or null on 401 (the public); throws on other errors. */
async function getJSON(url) {
  // The public map asks as the public even in a signed-in browser: it shows the public view.
  const credentials = state.publicOnly ? "omit" : "same-origin";
  const r = await fetch(url, { headers: { Accept: "application/json" }, credentials });
  if (r.status === 401) return null;
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

// -- geometry helpers (the page's own, on the client's copy) --------------------------------

/** Returns the outer rings of a Polygon or MultiPolygon. */
function outerRings(g) {
  if (!g) return [];
  if (g.type === "Polygon") return [g.coordinates[0]];
  if (g.type === "MultiPolygon") return g.coordinates.map((p) => p[0]);
  return [];
}

/** Returns the approximate area of a polygon geometry in m² (local equirectangular). */
function areaM2(g) {
  let total = 0;
  for (const ring of outerRings(g)) {
    const lat0 = (ring[0][1] * Math.PI) / 180;
    const kx = 111320 * Math.cos(lat0);
    const ky = 110574;
    let s = 0;
    for (let i = 0; i < ring.length - 1; i++) {
      s += ring[i][0] * kx * ring[i + 1][1] * ky - ring[i + 1][0] * kx * ring[i][1] * ky;
    }
    total += Math.abs(s) / 2;
  }
  return total;
}

/** Returns [minx, miny, maxx, maxy] of a geometry's outer rings. */
function bboxOf(g) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  for (const ring of outerRings(g)) {
    for (const [x, y] of ring) {
      b[0] = Math.min(b[0], x); b[1] = Math.min(b[1], y);
      b[2] = Math.max(b[2], x); b[3] = Math.max(b[3], y);
    }
  }
  return b;
}

// -- data ------------------------------------------------------------------------------------

/** Returns the filters the visitor chose. */
function filters() {
  const statuses = [...document.querySelectorAll("#filter-status input:checked")].map((i) => i.value);
  return {
    statuses: new Set(statuses),
    type: $("filter-type").value,
    contamination: $("filter-contamination").value,
    from: $("filter-from").value,
    to: $("filter-to").value,
  };
}

/** Returns the MapLibre filter expression of the filters, on the tile attributes. */
function filterExpression(f) {
  const all = ["all", ["in", ["get", "status"], ["literal", [...f.statuses]]]];
  if (f.type) all.push(["==", ["get", "hazard_type"], f.type]);
  // contamination is the text "ap_mine;cmr" in a tile: no code is a part of another
  if (f.contamination) all.push(["in", f.contamination, ["to-string", ["get", "contamination"]]]);
  // an area with no date reported passes a date filter, as before
  const reported = ["to-string", ["get", "reported_on"]];
  if (f.from) all.push(["any", ["!", ["has", "reported_on"]], [">=", reported, f.from]]);
  if (f.to) all.push(["any", ["!", ["has", "reported_on"]], ["<=", reported, f.to]]);
  return all;
}

/** Loads the items and accidents of the view for signed-in users (GeoJSON by bbox). */
async function loadPoints(map) {
  if (!state.user) return;
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
  for (const kind of ["items", "accidents"]) {
    const pts = await getJSON(`/collections/${kind}/items?bbox=${bbox}&limit=${PAGE_LIMIT}`);
    map.getSource(kind).setData(pts || { type: "FeatureCollection", features: [] });
  }
}

/** Asks the server again for the hazard tiles (after an edit): a tile changes with a record. */
function reloadAreas(map) {
  if (typeof map.refreshTiles === "function") map.refreshTiles("hazards");
  else map.style.sourceCaches.hazards.reload();
}

/** Returns the areas of the loaded tiles, one per ref: a polygon cut across tiles comes in
 * pieces, whose boxes are joined (and, for the public, whose areas are summed). */
function areasOfTiles(map, filter) {
  const byRef = new Map();
  const options = { sourceLayer: "hazards" };
  if (filter) options.filter = filter;
  for (const f of map.querySourceFeatures("hazards", options)) {
    const p = f.properties;
    const bb = bboxOf(f.geometry);
    if (!Number.isFinite(bb[0])) continue;
    let a = byRef.get(p.ref);
    if (!a) {
      a = { properties: { ...p, _area_m2: 0 }, _bbox: bb, pieces: new Set() };
      byRef.set(p.ref, a);
    } else {
      a._bbox = [Math.min(a._bbox[0], bb[0]), Math.min(a._bbox[1], bb[1]),
        Math.max(a._bbox[2], bb[2]), Math.max(a._bbox[3], bb[3])];
    }
    // the same piece can come twice (a tile and its parent while zooming): count it once
    const key = bb.map((v) => v.toFixed(5)).join(",");
    if (!a.pieces.has(key)) { a.pieces.add(key); a.properties._area_m2 += areaM2(f.geometry); }
  }
  return [...byRef.values()].map((a) => {
    if (a.properties.area_m2) a.properties._area_m2 = a.properties.area_m2; // exact, signed in
    a._centre = [(a._bbox[0] + a._bbox[2]) / 2, (a._bbox[1] + a._bbox[3]) / 2];
    delete a.pieces;
    return a;
  });
}

/** Reads the areas of the loaded tiles; gives the centres layer their centres (seen at small
 * scales, where an area is smaller than a pixel), then writes the list. */
function refreshAreas(map) {
  state.areas = areasOfTiles(map, null);
  const key = state.areas.map((a) => `${a.properties.ref}:${a.properties.status}:${a.properties.rank}:${a._centre}`).join("|");
  if (key !== state.areasKey) {
    state.areasKey = key;
    map.getSource("hazard-centres").setData({
      type: "FeatureCollection",
      features: state.areas.map((a) => ({
        type: "Feature", properties: a.properties, geometry: { type: "Point", coordinates: a._centre },
      })),
    });
  }
  // the tiles carry ranks (signed in, a ranking saved): read the ranking, offer colouring by it
  if (state.user && !state.publicOnly && !state.rankingAsked
    && state.areas.some((a) => typeof a.properties.rank === "number")) loadRanking(map);
  renderList(map);
}

// -- colouring: by status or by priority rank ---------------------------------------------------

/** Returns the [rank, colour] stops of the rank scale of a ranking of `n` areas, ranks ascending. */
function rankStops(n) {
  if (n < 2) return [[1, RANK_COLOURS[0]]];
  return [[1, RANK_COLOURS[0]], [(1 + n) / 2, RANK_COLOURS[1]], [n, RANK_COLOURS[2]]];
}

/** Returns the MapLibre colour expression of the area layers: by status, or by rank (an
 * `interpolate` on the tiles' `rank`, grey where an area has none). */
function colourExpression() {
  if (state.colourBy === "rank" && state.ranking) {
    return ["case", ["==", ["typeof", ["get", "rank"]], "number"],
      ["interpolate", ["linear"], ["get", "rank"], ...rankStops(state.ranking.areas).flat()],
      UNRANKED_COLOUR];
  }
  return ["match", ["get", "status"], ...STATUSES.flatMap((s) => [s, STATUS_COLOURS[s]]), "#555"];
}

/** Returns the colour the map gives an area (for the list): as MapLibre interpolates a
 * colour, linearly in RGB between the stops. */
function areaColour(p) {
  if (!(state.colourBy === "rank" && state.ranking)) return STATUS_COLOURS[p.status] || "#555";
  if (typeof p.rank !== "number") return UNRANKED_COLOUR;
  const stops = rankStops(state.ranking.areas);
  const k = stops.findIndex(([r]) => p.rank <= r);
  if (k <= 0) return stops[k === 0 ? 0 : stops.length - 1][1];
  const [[r0, c0], [r1, c1]] = [stops[k - 1], stops[k]];
  const f = (p.rank - r0) / (r1 - r0);
  const rgb = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  const [a, b] = [rgb(c0), rgb(c1)];
  return `rgb(${a.map((v, i) => Math.round(v + f * (b[i] - v))).join(",")})`;
}

/** Colours the area layers as chosen, then writes the legend and the list again. */
function applyColours(map) {
  const colour = colourExpression();
  map.setPaintProperty("hazard-fill", "fill-color", colour);
  map.setPaintProperty("hazard-line", "line-color", colour);
  map.setPaintProperty("hazard-centres", "circle-color", colour);
  renderLegend();
  renderList(map);
}

/** Reads the latest saved ranking (its id, dates and number of areas), then shows the choice
 * of colouring and applies the one chosen before. Asked once, when the tiles first carry ranks,
 * so that a registry with no saved ranking is not asked for one. */
async function loadRanking(map) {
  state.rankingAsked = true;
  const doc = await getJSON("/api/priority?limit=1").catch(() => null);
  if (!doc || !$("colour-by")) return;
  const { id, areas, as_of, created_at, created_by } = doc;
  state.ranking = { id, areas, as_of, created_at, created_by };
  $("colour-by-label").hidden = false;
  if (localStorage.getItem(COLOUR_KEY) === "rank") {
    state.colourBy = "rank";
    $("colour-by").value = "rank";
    applyColours(map);
  }
}

/** Applies the filters to the area layers, then lists the areas that pass them. */
function redraw(map) {
  const expr = filterExpression(filters());
  for (const layer of ["hazard-fill", "hazard-line", "hazard-centres"]) map.setFilter(layer, expr);
  renderList(map);
  renderSettlements(map);
}

/** Writes the list of the areas in view, sorted as chosen. */
function renderList(map) {
  const b = map.getBounds();
  const shown = areasOfTiles(map, filterExpression(filters()));
  const inView = shown.filter((a) => a._bbox[2] >= b.getWest() && a._bbox[0] <= b.getEast()
    && a._bbox[3] >= b.getSouth() && a._bbox[1] <= b.getNorth());
  const by = $("sort").value;
  const rank = (s) => STATUSES.indexOf(s);
  inView.sort((x, y) => {
    const p = x.properties, q = y.properties;
    if (by === "status") return rank(p.status) - rank(q.status) || q._area_m2 - p._area_m2;
    if (by === "date") return String(q.reported_on || "").localeCompare(String(p.reported_on || ""));
    if (by === "rank") return (p.rank || Infinity) - (q.rank || Infinity) || q._area_m2 - p._area_m2;
    return q._area_m2 - p._area_m2;
  });
  $("list-count").textContent = t("list.count", { n: inView.length });
  const list = $("list");
  list.replaceChildren(...inView.slice(0, LIST_LIMIT).map((a) => {
    const p = a.properties;
    return el("li", { "data-ref": p.ref, tabindex: "0", onclick: () => openArea(map, p.ref) },
      el("span", { class: "swatch", style: `background:${areaColour(p)}` }),
      el("b", { translate: "no" }, p.ref), " ",
      el("span", {}, code("status", p.status)), " ",
      el("span", { translate: "no" }, `${(p._area_m2 / 10000).toFixed(1)}`), " ",
      el("span", {}, t("unit.ha")),
      p.reported_on ? el("span", { translate: "no", class: "date" }, ` ${p.reported_on}`) : null,
      p.rank ? el("span", { class: "rank" }, ` ${t("list.rank", { n: p.rank })}`) : null);
  }));
  $("list-more").textContent = inView.length > LIST_LIMIT ? t("list.more", { n: inView.length - LIST_LIMIT }) : "";
  if (!inView.length) $("list-count").textContent = t("list.empty");
}

/** Shows the names of the larger settlements in view (more as one zooms in). */
function renderSettlements(map) {
  for (const m of state.labels || []) m.remove();
  const b = map.getBounds();
  const z = map.getZoom();
  const least = z < 6 ? 300000 : z < 7 ? 100000 : z < 8 ? 30000 : z < 9 ? 10000 : z < 10 ? 3000 : 0;
  const inView = state.settlements.filter((s) => s.population >= least
    && b.contains(s.coordinates)).sort((x, y) => y.population - x.population).slice(0, 40);
  state.labels = inView.map((s) => new maplibregl.Marker({
    element: el("div", { class: "settlement", translate: "no" }, s.name), anchor: "left", offset: [4, 0],
  }).setLngLat(s.coordinates).addTo(map));
}

// -- details ---------------------------------------------------------------------------------

/** Returns a two-column row of the details table. */
function row(labelKey, value) {
  return el("tr", {}, el("th", { "data-i18n": labelKey }, t(labelKey)), el("td", {}, value));
}

/** Returns the labels of a list of contamination codes. */
function contaminationOf(v) {
  const codes = Array.isArray(v) ? v : String(v || "").split(",").filter(Boolean);
  return el("span", {}, codes.map((c) => code("contamination", c)).join("; "));
}

/** Opens the details of area `ref`: from /api/ when signed in, else the public properties. */
async function openArea(map, ref) {
  state.selected = ref;
  map.setFilter("hazard-selected", ["==", ["get", "ref"], ref]);
  $("details").hidden = false;
  const body = $("details-body");
  body.replaceChildren(el("p", {}, t("details.loading")));
  const known = state.areas.find((a) => a.properties.ref === ref);
  if (known) map.fitBounds([[known._bbox[0], known._bbox[1]], [known._bbox[2], known._bbox[3]]],
    { maxZoom: Math.max(map.getZoom(), 12), padding: 80, duration: 0 });
  try {
    if (!state.user) {
      const f = known || await getJSON(`/collections/hazards/items/${encodeURIComponent(ref)}`);
      renderPublicDetails(f.properties || f);
      return;
    }
    const r = await fetch(`/api/hazards/${encodeURIComponent(ref)}`, { credentials: "same-origin" });
    if (!r.ok) throw new Error(String(r.status));
    const area = await r.json();
    const base = `/api/hazards/${encodeURIComponent(ref)}`;
    const [history, residual, curve] = await Promise.all([
      getJSON(`${base}/history`),
      getJSON(`${base}/residual?draws=2000&seed=1`).catch(() => null),
      getJSON(`${base}/residual/timeline?draws=1000&seed=1`).catch(() => null),
    ]);
    if (state.selected !== ref) return; // another area was clicked meanwhile
    renderDetails(map, area, history, residual, curve);
  } catch (err) {
    body.replaceChildren(el("p", { class: "error" }, t("details.failed")));
  }
}

/** Writes what the public view gives of an area. */
function renderPublicDetails(p) {
  $("details-body").replaceChildren(el("table", { id: "details-table", "data-ref": p.ref },
    el("tr", {}, el("th", {}, "#"), el("td", {}, raw(p.ref))),
    row("field.status", code("status", p.status)),
    row("field.hazard_type", code("hazard_type", p.hazard_type)),
    row("field.contamination", contaminationOf(p.contamination))),
    el("p", { class: "warning" }, t("warning.touch"), " ", t("warning.report")));
}

/** Writes an area's details, history, residual estimate and (for editors) the status form. */
function renderDetails(map, a, history, residual, curve) {
  const body = $("details-body");
  body.replaceChildren(
    el("table", { id: "details-table", "data-ref": a.ref },
      el("tr", {}, el("th", {}, "#"), el("td", {}, raw(a.ref))),
      row("field.name", raw(a.name)),
      row("field.status", el("span", { id: "details-status", "data-status": a.status }, code("status", a.status))),
      row("field.hazard_type", code("hazard_type", a.hazard_type)),
      row("field.contamination", contaminationOf(a.contamination)),
      row("field.land_use", code("land_use", a.land_use)),
      row("field.reported_on", raw(a.reported_on)),
      row("field.area", el("span", {}, raw((a.area_m2 / 10000).toFixed(1)), " ", t("unit.ha"))),
      row("field.admin_area", raw(a.admin_area)),
      row("field.version", el("span", { id: "details-version", translate: "no" }, a.version)),
      row("field.changed", el("span", {}, raw(a.changed_at), " ", raw(a.changed_by)))),
    statusForm(map, a) || "",
    el("h3", {}, t("history.heading")),
    historyTable(history),
    el("h3", {}, t("residual.heading")),
    residualView(residual),
    residualChart(curve));
}

/** Returns the history as a table: version, when, who, what changed. */
function historyTable(history) {
  const rows = (history ? history.versions : []).slice().reverse().map((v) => {
    const fields = Object.keys(v.changes || {});
    let what;
    if (v.action === "create") what = el("span", {}, t("history.created"));
    else what = el("span", {}, fields.map((name) => {
      const [before, after] = v.changes[name];
      return name === "status"
        ? `${code("field", name)}: ${code("status", before)} → ${code("status", after)}`
        : code("field", name);
    }).join("; "));
    return el("tr", { "data-version": v.version },
      el("td", { translate: "no" }, v.version), el("td", { translate: "no" }, v.at.slice(0, 16).replace("T", " ")),
      el("td", { translate: "no", class: "actor" }, v.actor), el("td", {}, what));
  });
  return el("table", { id: "history", class: "history" },
    el("tr", {}, ["history.version", "history.when", "history.who", "history.what"].map((k) => el("th", {}, t(k)))),
    rows);
}

/** Returns the residual estimate's figures: the expected count with its range, and the range
 * of the actual number live, named apart (they answer different questions); then what the
 * area's finds moved, when they moved anything. */
function residualView(r) {
  if (!r) return el("p", {}, t("residual.none"));
  const fmt = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(2));
  const table = el("table", { id: "residual" },
    row("residual.expected", raw(fmt(r.expected_live))),
    row("residual.expected.range", raw(`${fmt(r.expected_live_p05)} – ${fmt(r.expected_live_p95)}`)),
    row("residual.actual", el("span", { id: "residual-actual" },
      raw(`${r.actual_live_low} – ${r.actual_live_high}`), " ", t("residual.devices"))),
    row("residual.any", raw(`${(100 * r.p_any_live).toFixed(1)}%`)),
    row("residual.safe", r.safe_date ? raw(r.safe_date) : el("span", {}, t("residual.never"))));
  return el("div", { class: "residual-view" }, table, findsMoved(r.finds_moved));
}

/** Returns how far the area's finds moved each stage they updated (the failure fraction's
 * median and 5-95% range, before and after), or nothing if they moved none. */
function findsMoved(shifts) {
  if (!Array.isArray(shifts) || shifts.length === 0) return "";
  const frac = (v) => Number(v).toPrecision(2);
  const range = (p, lo, hi) => `${frac(p)} (${frac(lo)}–${frac(hi)})`;
  const rows = shifts.map((s) => el("tr", { "data-stage": s.stage },
    el("td", {}, t(`residual.stage.${s.stage}`), " ", raw(`(${s.profile_id})`), el("br"),
      t("residual.finds.found", { live: s.live, inert: s.inert }), el("br"),
      el("span", { class: "note" }, t("residual.finds.weight", { n: Math.round(s.prior_strength) }))),
    el("td", { translate: "no", style: "white-space:nowrap" },
      range(s.before, ...s.before_range), el("br"), `→ ${range(s.after, ...s.after_range)}`)));
  return el("table", { id: "residual-finds", style: "font-size:0.9em" },
    el("caption", { style: "text-align:left;font-weight:600" }, t("residual.finds.heading")),
    el("tr", {}, ["residual.finds.stage", "residual.finds.moved"].map((k) => el("th", {}, t(k)))),
    rows);
}

/** Returns a new SVG element with attributes (and text). */
function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const CURVE_COLOURS = { expected: "#1f4e79", band: "#4e79a7", actual: "#e15759" };

/** Returns the residual curve (GET .../residual/timeline) as an inline SVG chart: the
 * expected live devices with the range of that expected count (a band), and the 90% range
 * of the actual number live (a lighter step band: whole devices), over time; the estimate
 * date (and safe date) marked; nothing if there is no curve. */
function residualChart(c) {
  if (!c || !Array.isArray(c.dates) || c.dates.length < 2) return "";
  const W = 300, H = 164, L = 34, R = 8, T = 8, B = 44; // plot box inside the margins
  const day = (iso) => Date.parse(`${iso}T00:00:00Z`) / 86400000;
  const d0 = day(c.dates[0]), d1 = day(c.dates[c.dates.length - 1]);
  const ymax = Math.max(...c.actual_live_high, ...c.expected_live_p95, ...c.expected_live, 1e-9);
  const x = (iso) => L + ((day(iso) - d0) / Math.max(d1 - d0, 1)) * (W - L - R);
  // A square-root scale: the few devices left after the last stage stay visible beside the
  // hundreds emplaced; labelled ticks keep it readable.
  const y = (v) => T + (1 - Math.sqrt(Math.max(v, 0) / ymax)) * (H - T - B);
  const pt = (d, v) => `${x(d).toFixed(1)},${y(v).toFixed(1)}`;
  const line = (vals) => c.dates.map((d, i) => `${i ? "L" : "M"}${pt(d, vals[i])}`).join("");
  const back = (vals) => c.dates.map((d, i) => `L${pt(d, vals[i])}`).reverse().join("");
  // Whole numbers of devices: steps, not slopes, changing halfway between dates (as --plot).
  const at = (px, v) => `${px.toFixed(1)},${y(v).toFixed(1)}`;
  const mid = (i) => (x(c.dates[i - 1]) + x(c.dates[i])) / 2;
  const n = c.dates.length;
  const steps = (vals) => `M${pt(c.dates[0], vals[0])}`
    + vals.slice(1).map((v, k) => `L${at(mid(k + 1), vals[k])}L${at(mid(k + 1), v)}`).join("")
    + `L${pt(c.dates[n - 1], vals[n - 1])}`;
  const stepsBack = (vals) => `L${pt(c.dates[n - 1], vals[n - 1])}`
    + vals.slice(1).map((v, k) => `L${at(mid(k + 1), v)}L${at(mid(k + 1), vals[k])}`).reverse().join("")
    + `L${pt(c.dates[0], vals[0])}`;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "curve", id: "residual-chart", role: "img",
    "aria-label": t("residual.chart.title") });
  svg.append(svgEl("title", {}, t("residual.chart.title")));
  svg.append(svgEl("path", { class: "actual", d: `${steps(c.actual_live_high)}${stepsBack(c.actual_live_low)}Z`,
    fill: CURVE_COLOURS.actual, "fill-opacity": "0.13", stroke: CURVE_COLOURS.actual, "stroke-opacity": "0.55",
    "stroke-width": "0.8", "stroke-dasharray": "3 2" }));
  svg.append(svgEl("path", { class: "band", d: `${line(c.expected_live_p95)}${back(c.expected_live_p05)}Z`,
    fill: CURVE_COLOURS.band, "fill-opacity": "0.35", stroke: "none" }));
  svg.append(svgEl("path", { class: "expected", d: line(c.expected_live), fill: "none", stroke: CURVE_COLOURS.expected, "stroke-width": "1.8" }));
  // axes: zero and the top value up, the first and last date across
  svg.append(svgEl("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#999" }));
  svg.append(svgEl("line", { x1: L, y1: T, x2: L, y2: y(0), stroke: "#999" }));
  const num = { "font-size": "9", fill: "#555", translate: "no" };
  const top = ymax >= 100 && ymax < 1e5 ? String(Math.round(ymax)) : ymax.toPrecision(2); // fits the margin
  svg.append(svgEl("text", { ...num, x: L - 3, y: T + 8, "text-anchor": "end" }, top));
  svg.append(svgEl("text", { ...num, x: L - 3, y: y(0), "text-anchor": "end" }, "0"));
  let free = y(0) - 10; // ticks 1, 2, 5, 10, ... upwards, each at least 10 px above the last
  for (let k = 0; 10 ** k <= ymax; k++) {
    for (const v of [1, 2, 5].map((m) => m * 10 ** k)) {
      if (v > ymax || y(v) > free || y(v) < T + 16) continue;
      svg.insertBefore(svgEl("line", { class: "tick", x1: L, y1: y(v), x2: W - R, y2: y(v), stroke: "#e4e4e4" }),
        svg.querySelector("path.actual")); // under the bands
      svg.append(svgEl("text", { ...num, x: L - 3, y: y(v) + 3, "text-anchor": "end" }, String(v)));
      free = y(v) - 10;
    }
  }
  svg.append(svgEl("text", { ...num, x: L, y: H - B + 11 }, c.dates[0].slice(0, 7)));
  svg.append(svgEl("text", { ...num, x: W - R, y: H - B + 11, "text-anchor": "end" }, c.dates[c.dates.length - 1].slice(0, 7)));
  const mark = (iso, colour, key, dy) => {
    if (!iso || day(iso) < d0 || day(iso) > d1) return;
    svg.append(svgEl("line", { class: `mark ${key}`, x1: x(iso), y1: T, x2: x(iso), y2: y(0), stroke: colour, "stroke-dasharray": "3 2" }));
    const right = x(iso) > W / 2;
    svg.append(svgEl("text", { "font-size": "9", fill: colour, x: x(iso) + (right ? -3 : 3), y: H - B + 22 + dy,
      "text-anchor": right ? "end" : "start" }, `${t(`residual.chart.${key}`)} ${iso}`));
  };
  mark(c.at, "#333", "at", 0);
  mark(c.safe_date, "#2ca02c", "safe", 11); // below the dates; a line each
  const item = (style, key) => el("span", { style: "display:block" }, el("span", { class: "swatch", style }), t(key));
  const legend = el("p", { class: "curve-legend", id: "residual-legend" },
    item(`background:${CURVE_COLOURS.expected};height:0.2rem;border:none`, "residual.chart.expected"),
    item(`background:${CURVE_COLOURS.band};opacity:0.5`, "residual.chart.band"),
    item(`background:${CURVE_COLOURS.actual};opacity:0.25;border-style:dashed`, "residual.chart.actual"),
    el("span", { class: "note" }, t("residual.chart.scale")));
  return el("figure", { class: "residual-chart" }, el("figcaption", {}, t("residual.chart.title")), svg, legend);
}

/** Returns the status form for users who may change or propose a status, else nothing. */
function statusForm(map, a) {
  const perms = (state.user && state.user.permissions) || [];
  if (!perms.includes("write") && !perms.includes("propose_status")) return null;
  const select = el("select", { id: "status-new", name: "status" },
    STATUSES.filter((s) => s !== a.status).map((s) => el("option", { value: s }, code("status", s))));
  const reason = el("textarea", { id: "status-reason", name: "reason", rows: "2", maxlength: "2000" });
  const message = el("div", { id: "status-message", class: "message" });
  const form = el("form", { id: "status-form" },
    el("h3", {}, t("status.form")),
    el("label", {}, el("span", {}, t("status.new")), select),
    el("label", {}, el("span", {}, t("status.reason")), reason),
    el("button", { type: "submit" }, t("status.submit")),
    message);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await fetch(`/api/hazards/${encodeURIComponent(a.ref)}/status`, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "If-Match": `"${a.version}"`,
        "X-CSRF-Token": state.user.csrf_token || "",
      },
      body: JSON.stringify({ status: select.value, reason: reason.value || null }),
    });
    const doc = await r.json().catch(() => ({}));
    if (r.status === 200) {
      await openArea(map, a.ref);
      $("status-message") && $("status-message").replaceChildren(t("status.done", { v: doc.version }));
      reloadAreas(map);
    } else if (r.status === 202) {
      message.replaceChildren(t("status.proposed"));
    } else if (r.status === 409) {
      message.replaceChildren(el("p", { class: "error" }, t("status.conflict"), " ", raw(doc.detail)),
        // `needs` says what must come first; shown when the detail does not already say it
        doc.needs && !String(doc.detail).includes(doc.needs) ? el("p", {}, t("status.needs"), ": ", raw(doc.needs)) : "");
    } else if (r.status === 412) {
      await openArea(map, a.ref);
      $("status-message") && $("status-message").replaceChildren(t("status.stale"));
    } else {
      message.replaceChildren(el("p", { class: "error" }, t("status.failed"), ": ", raw(doc.detail || r.status)));
    }
  });
  return form;
}

// -- search ----------------------------------------------------------------------------------

/** Finds a ref (opens the area) or a settlement (goes there) from the search box. */
async function search(map, text) {
  const q = text.trim();
  $("search-message").hidden = true;
  if (!q) return;
  const area = state.areas.find((a) => a.properties.ref.toLowerCase() === q.toLowerCase());
  if (area) return openArea(map, area.properties.ref);
  if (/^[A-Za-z]{2}-/.test(q)) {
    const url = `/collections/hazards/items/${encodeURIComponent(q.toUpperCase())}`;
    const f = await getJSON(url).catch(() => null);
    if (f && f.geometry) {
      const bb = bboxOf(f.geometry);
      map.fitBounds([[bb[0], bb[1]], [bb[2], bb[3]]], { maxZoom: 13, padding: 80, duration: 0 });
      map.once("idle", () => openArea(map, f.properties.ref));
      return;
    }
  }
  const low = q.toLowerCase();
  const place = state.settlements.filter((s) => s.name.toLowerCase().startsWith(low))
    .sort((x, y) => y.population - x.population)[0];
  if (place) {
    map.jumpTo({ center: place.coordinates, zoom: 11 });
    return;
  }
  $("search-message").textContent = t("search.none");
  $("search-message").hidden = false;
}

// -- page ------------------------------------------------------------------------------------

/** Returns the map style: sea, countries, Ukraine, hazard areas and points. */
function mapStyle() {
  const empty = { type: "geojson", data: { type: "FeatureCollection", features: [] } };
  const colour = colourExpression();
  return {
    version: 8,
    sources: {
      countries: { type: "geojson", data: "/static/vendor/natural-earth/countries.geojson" },
      // the session cookie goes with these same-origin requests: exact tiles for a user
      hazards: { type: "vector", url: "/tiles/hazards.json" }, "hazard-centres": empty,
      items: structuredClone(empty), accidents: structuredClone(empty),
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#d7e6ef" } },
      { id: "land", type: "fill", source: "countries",
        paint: { "fill-color": ["case", ["==", ["get", "name"], "Ukraine"], "#fbf8ef", "#ebe7dc"] } },
      { id: "borders", type: "line", source: "countries", paint: { "line-color": "#8a8575", "line-width": 1 } },
      { id: "hazard-fill", type: "fill", source: "hazards", "source-layer": "hazards", paint: { "fill-color": colour, "fill-opacity": 0.55 } },
      { id: "hazard-line", type: "line", source: "hazards", "source-layer": "hazards", paint: { "line-color": colour, "line-width": 1.5 } },
      // the area whose details are open, outlined over the others
      { id: "hazard-selected", type: "line", source: "hazards", "source-layer": "hazards", filter: ["==", ["get", "ref"], ""],
        paint: { "line-color": "#1a237e", "line-width": 3.5 } },
      { id: "hazard-centres", type: "circle", source: "hazard-centres", maxzoom: 11,
        paint: { "circle-color": colour, "circle-radius": 4.5, "circle-stroke-color": "#333", "circle-stroke-width": 0.6 } },
      { id: "items", type: "circle", source: "items",
        paint: { "circle-color": "#000", "circle-radius": 3.5, "circle-stroke-color": "#fff", "circle-stroke-width": 1 } },
      { id: "accidents", type: "circle", source: "accidents",
        paint: { "circle-color": "#ffeb3b", "circle-radius": 5, "circle-stroke-color": "#b71c1c", "circle-stroke-width": 2 } },
    ],
  };
}

/** Fills the filter controls and the legend (again, after a language switch). */
function renderControls() {
  const statusBox = $("filter-status");
  const checked = new Set([...statusBox.querySelectorAll("input")].filter((i) => i.checked).map((i) => i.value));
  const first = !statusBox.querySelector("input");
  statusBox.querySelectorAll("label").forEach((l) => l.remove());
  for (const s of STATUSES) {
    statusBox.append(el("label", { class: "check" },
      el("input", { type: "checkbox", value: s, ...(first || checked.has(s) ? { checked: "" } : {}) }),
      el("span", { class: "swatch", style: `background:${STATUS_COLOURS[s]}` }), code("status", s)));
  }
  for (const [id, field, codes] of [["filter-type", "hazard_type", HAZARD_TYPES], ["filter-contamination", "contamination", CONTAMINATION]]) {
    const sel = $(id);
    const was = sel.value;
    sel.replaceChildren(el("option", { value: "" }, t("filter.any")), ...codes.map((c) => el("option", { value: c }, code(field, c))));
    sel.value = was;
  }
  renderLegend();
}

/** Writes the legend: the colours of the statuses, or the rank scale of the latest saved
 * ranking (1 ... N, its id and date); then the points and settlements. */
function renderLegend() {
  const legend = $("legend");
  const r = state.ranking;
  if (state.colourBy === "rank" && r) {
    const stops = rankStops(r.areas);
    const at = (k) => (r.areas > 1 ? (100 * (k - 1)) / (r.areas - 1) : 0).toFixed(1);
    const ramp = stops.length > 1
      ? `linear-gradient(to right, ${stops.map(([k, c]) => `${c} ${at(k)}%`).join(", ")})` : stops[0][1];
    legend.replaceChildren(
      el("li", { id: "rank-scale" }, el("span", {}, t("legend.rank")),
        el("span", { class: "ramp", style: `background:${ramp}` }),
        el("span", { class: "ramp-ends" },
          el("span", {}, raw(1), " ", t("legend.rank.first")), raw(r.areas))),
      el("li", {}, el("span", { class: "swatch", style: `background:${UNRANKED_COLOUR}` }), t("legend.rank.none")),
      el("li", { id: "legend-ranking", class: "note" }, ...tNodes("legend.ranking", { id: r.id, date: r.as_of }),
        el("br"), ...tNodes("legend.ranking.saved", { date: String(r.created_at).slice(0, 10), who: r.created_by })));
  } else {
    legend.replaceChildren(...STATUSES.map((s) => el("li", {},
      el("span", { class: "swatch", style: `background:${STATUS_COLOURS[s]}` }), code("status", s))));
  }
  if (state.user) {
    legend.append(el("li", {}, el("span", { class: "dot item" }), t("legend.items")),
      el("li", {}, el("span", { class: "dot accident" }), t("legend.accidents")));
  }
  legend.append(el("li", {}, el("span", { class: "dot settlement" }), t("legend.settlement")));
}

/** Shows who is signed in (or the public), and the sign-in or sign-out control. */
function renderUser() {
  $("who").hidden = !state.user;
  $("signin").hidden = !!state.user || state.publicOnly;
  $("signout").hidden = !state.user;
  $("public-note").hidden = !!state.user;
  $("signin-note").hidden = !!state.user || state.publicOnly;
  if ($("filter-dates")) $("filter-dates").hidden = !state.user;
  if (state.user) $("who-name").textContent = `${state.user.name} (${state.user.role})`;
}

/** Starts the page: who is signed in, the map, its controls and their events. */
async function start(options) {
  state.publicOnly = !!(options && options.publicOnly);
  // signed in, the tiles carry each area's rank in the latest saved ranking (prioritisation)
  if (!state.publicOnly) $("sort").append(el("option", { value: "rank", "data-i18n": "sort.rank" }, "priority rank"));
  translatePage();
  if (!state.publicOnly && document.body.dataset.signedIn === "true") {
    state.user = await getJSON("/api/me").catch(() => null);
  }
  renderUser();
  renderControls();
  const map = new maplibregl.Map({
    container: "map",
    style: mapStyle(),
    bounds: UKRAINE,
    attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true }, // tests read the canvas back
    // The public map asks as the public even in a signed-in browser (no cookie): public tiles.
    transformRequest: (url) => (state.publicOnly ? { url, credentials: "omit" } : { url }),
  });
  window.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl(), "bottom-left");
  // The map's events are bound in the tick that made it: the map may load, and its tiles
  // arrive, while any request of this page is still pending.
  let pending = null;
  const refresh = () => { clearTimeout(pending); pending = setTimeout(() => refreshAreas(map), 100); };
  map.on("load", () => { redraw(map); loadPoints(map); });
  map.on("sourcedata", (e) => { if (e.sourceId === "hazards" && map.isSourceLoaded("hazards")) refresh(); });
  map.on("moveend", () => { refresh(); renderSettlements(map); loadPoints(map); });
  for (const layer of ["hazard-fill", "hazard-centres"]) {
    map.on("click", layer, (e) => openArea(map, e.features[0].properties.ref));
    map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
  }
  for (const id of ["filter-status", "filter-type", "filter-contamination", "filter-from", "filter-to", "sort"]) {
    $(id).addEventListener("change", () => redraw(map));
  }
  if ($("colour-by")) {
    $("colour-by").addEventListener("change", () => {
      state.colourBy = $("colour-by").value === "rank" ? "rank" : "status";
      localStorage.setItem(COLOUR_KEY, state.colourBy);
      applyColours(map);
    });
  }
  $("search").addEventListener("submit", (ev) => { ev.preventDefault(); search(map, $("search-text").value); });
  $("details-close").addEventListener("click", () => {
    $("details").hidden = true;
    state.selected = null;
    map.setFilter("hazard-selected", ["==", ["get", "ref"], ""]);
  });
  $("lang").addEventListener("click", () => switchLang(() => {
    renderControls();
    renderUser();
    redraw(map);
    if (state.selected && !$("details").hidden) openArea(map, state.selected);
  }));
  $("signout").addEventListener("click", async () => {
    await fetch("/logout", { method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": (state.user && state.user.csrf_token) || "" } });
    location.assign(state.publicOnly ? "/public" : "/");
  });
  await loadSettlements(map);
}

/** Reads the settlements' names (labels and search), and labels those of the view. */
async function loadSettlements(map) {
  const labels = await getJSON("/settlements.geojson").catch(() => null);
  state.settlements = (labels ? labels.features : []).map((f) => ({
    name: f.properties.name, population: f.properties.population, coordinates: f.geometry.coordinates,
  }));
  $("search-names").replaceChildren(...state.settlements.filter((s) => s.population >= 20000)
    .map((s) => el("option", { value: s.name })));
  renderSettlements(map);
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "public") start({ publicOnly: false });
});
