// The web map of hazardous areas: MapLibre over vendored country outlines and the demo's
// settlements; hazard areas from OGC API Features (GeoJSON, the bbox of the view), filtered
// and listed here; details, history, residual estimate and status changes from /api/.
// public.js starts the same map in public mode (no sign-in, the public view only).
"use strict";

const STATUSES = ["suspected", "confirmed", "in_progress", "cancelled", "reduced", "cleared", "released"];
const STATUS_COLOURS = {
  suspected: "#f28e2b", confirmed: "#d62728", in_progress: "#9467bd", cancelled: "#9e9e9e",
  reduced: "#4e9fd1", cleared: "#2ca02c", released: "#98df8a",
};
const HAZARD_TYPES = ["SHA", "CHA"];
const CONTAMINATION = ["ap_mine", "av_mine", "cmr", "uxo", "axo", "ied"];
const UKRAINE = [[22.0, 44.2], [40.3, 52.4]];
const LIST_LIMIT = 200;
const PAGE_LIMIT = 5000;

const state = {
  publicOnly: false,
  user: null, // {name, role, permissions, csrf_token} once /api/me answers
  areas: [], // GeoJSON features of the last bbox, with _area_m2 and _centre
  settlements: [],
  selected: null,
};

/** Returns the element of `id`. */
const $ = (id) => document.getElementById(id);

/** Returns a new element with attributes and children (strings become text). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** Returns a value from the registry as a span the page never translates. */
const raw = (v) => el("span", { translate: "no" }, v === null || v === undefined ? "–" : String(v));

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

/** Returns whether an area passes the filters. */
function passes(f, p) {
  if (!f.statuses.has(p.status)) return false;
  if (f.type && p.hazard_type !== f.type) return false;
  const cont = Array.isArray(p.contamination) ? p.contamination : String(p.contamination || "").split(",");
  if (f.contamination && !cont.includes(f.contamination)) return false;
  if ((f.from || f.to) && p.reported_on) {
    if (f.from && p.reported_on < f.from) return false;
    if (f.to && p.reported_on > f.to) return false;
  }
  return true;
}

/** Loads the hazard areas of the view (and items and accidents for signed-in users). */
async function loadView(map) {
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
  const doc = await getJSON(`/collections/hazards/items?bbox=${bbox}&limit=${PAGE_LIMIT}`);
  state.areas = (doc ? doc.features : []).map((f) => {
    const bb = bboxOf(f.geometry);
    f.properties._area_m2 = f.properties.area_m2 || areaM2(f.geometry);
    f._bbox = bb;
    f._centre = [(bb[0] + bb[2]) / 2, (bb[1] + bb[3]) / 2];
    return f;
  });
  if (state.user) {
    for (const kind of ["items", "accidents"]) {
      const pts = await getJSON(`/collections/${kind}/items?bbox=${bbox}&limit=${PAGE_LIMIT}`);
      map.getSource(kind).setData(pts || { type: "FeatureCollection", features: [] });
    }
  }
  redraw(map);
}

/** Draws the filtered areas, their centres (seen at small scales) and the list beside the map. */
function redraw(map) {
  const f = filters();
  const shown = state.areas.filter((a) => passes(f, a.properties));
  map.getSource("hazards").setData({ type: "FeatureCollection", features: shown });
  map.getSource("hazard-centres").setData({
    type: "FeatureCollection",
    features: shown.map((a) => ({
      type: "Feature", properties: a.properties, geometry: { type: "Point", coordinates: a._centre },
    })),
  });
  renderList(map, shown);
  renderSettlements(map);
}

/** Writes the list of the areas in view, sorted as chosen. */
function renderList(map, shown) {
  const b = map.getBounds();
  const inView = shown.filter((a) => a._bbox[2] >= b.getWest() && a._bbox[0] <= b.getEast()
    && a._bbox[3] >= b.getSouth() && a._bbox[1] <= b.getNorth());
  const by = $("sort").value;
  const rank = (s) => STATUSES.indexOf(s);
  inView.sort((x, y) => {
    const p = x.properties, q = y.properties;
    if (by === "status") return rank(p.status) - rank(q.status) || q._area_m2 - p._area_m2;
    if (by === "date") return String(q.reported_on || "").localeCompare(String(p.reported_on || ""));
    return q._area_m2 - p._area_m2;
  });
  $("list-count").textContent = t("list.count", { n: inView.length });
  const list = $("list");
  list.replaceChildren(...inView.slice(0, LIST_LIMIT).map((a) => {
    const p = a.properties;
    return el("li", { "data-ref": p.ref, tabindex: "0", onclick: () => openArea(map, p.ref) },
      el("span", { class: "swatch", style: `background:${STATUS_COLOURS[p.status] || "#555"}` }),
      el("b", { translate: "no" }, p.ref), " ",
      el("span", {}, code("status", p.status)), " ",
      el("span", { translate: "no" }, `${(p._area_m2 / 10000).toFixed(1)}`), " ",
      el("span", {}, t("unit.ha")),
      p.reported_on ? el("span", { translate: "no", class: "date" }, ` ${p.reported_on}`) : null);
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
    const [history, residual] = await Promise.all([
      getJSON(`/api/hazards/${encodeURIComponent(ref)}/history`),
      getJSON(`/api/hazards/${encodeURIComponent(ref)}/residual?draws=2000&seed=1`).catch(() => null),
    ]);
    if (state.selected !== ref) return; // another area was clicked meanwhile
    renderDetails(map, area, history, residual);
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
function renderDetails(map, a, history, residual) {
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
    residualView(residual));
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

/** Returns the residual estimate: an SVG curve if the answer has one, else its figures. */
function residualView(r) {
  if (!r) return el("p", {}, t("residual.none"));
  const fmt = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(2));
  const out = el("table", { id: "residual" },
    row("residual.expected", raw(fmt(r.expected_live))),
    row("residual.interval", raw(`${fmt(r.live_p05)} – ${fmt(r.live_p95)}`)),
    row("residual.any", raw(`${(100 * r.p_any_live).toFixed(1)}%`)),
    row("residual.safe", r.safe_date ? raw(r.safe_date) : el("span", {}, t("residual.never"))));
  const curve = r.curve || r.expected_live_curve;
  if (!Array.isArray(curve) || curve.length < 2) return out;
  // A curve of {at, expected_live}: a small line, time across, expected live devices up.
  const w = 260, h = 80;
  const ys = curve.map((c) => Number(c.expected_live));
  const ymax = Math.max(...ys, 1e-9);
  const pts = ys.map((y, i) => `${(i * w / (ys.length - 1)).toFixed(1)},${(h - y / ymax * h).toFixed(1)}`).join(" ");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("class", "curve");
  svg.innerHTML = `<polyline fill="none" stroke="#d62728" stroke-width="2" points="${pts}"/>`;
  return el("div", {}, out, el("p", {}, t("residual.curve")), svg);
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
      loadView(map);
    } else if (r.status === 202) {
      message.replaceChildren(t("status.proposed"));
    } else if (r.status === 409) {
      message.replaceChildren(el("p", { class: "error" }, t("status.conflict"), " ", raw(doc.detail)),
        doc.needs ? el("p", {}, t("status.needs"), ": ", raw(doc.needs)) : "");
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
  const colour = ["match", ["get", "status"], ...STATUSES.flatMap((s) => [s, STATUS_COLOURS[s]]), "#555"];
  return {
    version: 8,
    sources: {
      countries: { type: "geojson", data: "/static/vendor/natural-earth/countries.geojson" },
      hazards: empty, "hazard-centres": structuredClone(empty),
      items: structuredClone(empty), accidents: structuredClone(empty),
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#d7e6ef" } },
      { id: "land", type: "fill", source: "countries",
        paint: { "fill-color": ["case", ["==", ["get", "name"], "Ukraine"], "#fbf8ef", "#ebe7dc"] } },
      { id: "borders", type: "line", source: "countries", paint: { "line-color": "#8a8575", "line-width": 1 } },
      { id: "hazard-fill", type: "fill", source: "hazards", paint: { "fill-color": colour, "fill-opacity": 0.55 } },
      { id: "hazard-line", type: "line", source: "hazards", paint: { "line-color": colour, "line-width": 1.5 } },
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
  const legend = $("legend");
  legend.replaceChildren(...STATUSES.map((s) => el("li", {},
    el("span", { class: "swatch", style: `background:${STATUS_COLOURS[s]}` }), code("status", s))));
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
  });
  window.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl(), "bottom-left");
  const labels = await getJSON("/settlements.geojson").catch(() => null);
  state.settlements = (labels ? labels.features : []).map((f) => ({
    name: f.properties.name, population: f.properties.population, coordinates: f.geometry.coordinates,
  }));
  $("search-names").replaceChildren(...state.settlements.filter((s) => s.population >= 20000)
    .map((s) => el("option", { value: s.name })));
  let pending = null;
  const reload = () => { clearTimeout(pending); pending = setTimeout(() => loadView(map), 150); };
  map.on("load", () => loadView(map));
  map.on("moveend", reload);
  for (const layer of ["hazard-fill", "hazard-centres"]) {
    map.on("click", layer, (e) => openArea(map, e.features[0].properties.ref));
    map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
  }
  for (const id of ["filter-status", "filter-type", "filter-contamination", "filter-from", "filter-to", "sort"]) {
    $(id).addEventListener("change", () => redraw(map));
  }
  $("search").addEventListener("submit", (ev) => { ev.preventDefault(); search(map, $("search-text").value); });
  $("details-close").addEventListener("click", () => { $("details").hidden = true; state.selected = null; });
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
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "public") start({ publicOnly: false });
});
