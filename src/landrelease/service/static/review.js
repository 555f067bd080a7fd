// The review page of field submissions (/review): the queue on the left; the chosen submission
// on the map (what it would write, highlighted, over the registry's hazard areas from the vector
// tiles; for an edit, the area's current outline dashed) and, on the right, the field-by-field
// changes, its flags and its history, with approve and reject for a validator. Everything comes
// from /api/submissions; a change sends the session's CSRF token (from /api/me).
"use strict";

Object.assign(I18N.en, {
  "review.title": "Field submissions: review",
  "review.heading": "Field submissions waiting for review",
  "review.map": "Map of hazardous areas",
  "review.queue": "Queue",
  "review.state": "Show",
  "review.state.pending": "pending",
  "review.state.approved": "approved",
  "review.state.rejected": "rejected",
  "review.state.all": "all",
  "review.col.form": "Form",
  "review.col.by": "Submitted by",
  "review.col.date": "Date",
  "review.col.flags": "Flags",
  "review.queue.empty": "No submission in this state.",
  "review.upload": "Add an export",
  "review.fix": "Correct",
  "review.fix.reason": "corrected on the review page",
  "review.upload.hint": "ODK Central (CSV ZIP, OData JSON) or KoboToolbox (XLSX, CSV, JSON): each submission is queued once, for review.",
  "review.upload.button": "Queue for review",
  "review.upload.done": "{queued} queued ({flagged} flagged), {duplicates} queued before",
  "review.none": "Choose a submission in the queue to review it.",
  "review.unnamed": "not named",
  "review.loading": "Loading…",
  "review.failed": "The submission could not be loaded.",
  "review.submission": "Submission {id}",
  "review.meta.state": "State",
  "review.meta.by": "Submitted by",
  "review.meta.at": "Submitted at",
  "review.meta.organisation": "Organisation",
  "review.meta.team": "Team",
  "review.meta.source": "Read from",
  "review.meta.imported": "Queued by",
  "review.meta.decided": "Decided by",
  "review.meta.reason": "Reason",
  "review.meta.refs": "Records written",
  "review.flags": "Flags",
  "review.flags.none": "No flag: every check passed.",
  "review.records": "What an approval writes",
  "review.record.new": "New record: {kind}",
  "review.record.edit": "Change of {ref} ({kind})",
  "review.record.same": "No field changes.",
  "review.col.field": "Field",
  "review.col.current": "Now",
  "review.col.proposed": "Submitted",
  "review.col.value": "Value",
  "review.geometry": "Outline",
  "review.geometry.new": "Area submitted: {ha} ha",
  "review.geometry.change": "Area {from} ha → {to} ha; added {added} ha, removed {removed} ha; boundary moved up to {moved} m",
  "review.geometry.same": "The outline is unchanged.",
  "review.answers": "Answers as submitted",
  "review.history": "Review history",
  "review.history.when": "When",
  "review.history.who": "Who",
  "review.history.what": "What",
  "review.history.why": "Why",
  "review.decide": "Decision",
  "review.override": "Reason to approve over the flags (required)",
  "review.approve": "Approve",
  "review.reason": "Reason for rejecting (required)",
  "review.reject": "Reject",
  "review.done.approved": "Approved: the records are written.",
  "review.done.rejected": "Rejected.",
  "review.refused": "Refused",
  "review.needs.reason": "Give a reason first.",
  "review.viewer": "Only a validator approves or rejects a submission.",
  "review.legend.submitted": "submitted",
  "review.legend.current": "outline in the registry now",
  "kind.hazards": "hazardous area",
  "kind.activities": "activity",
  "kind.items": "item found",
  "kind.accidents": "accident",
  "kind.eore": "risk education session",
  "form.nts_survey": "non-technical survey",
  "form.eod_spot_task": "EOD spot task",
  "form.clearance": "clearance / technical survey",
  "form.accident": "accident and victims",
  "form.risk_education": "risk education session",
  "action.imported": "queued",
  "action.edited": "corrected",
  "action.overridden": "approved over flags",
  "action.approved": "approved",
  "action.rejected": "rejected",
  "action.replaced": "replaced by an edit",
});

Object.assign(I18N.uk, {
  "review.title": "Польові дані: перевірка",
  "review.heading": "Польові дані, що очікують перевірки",
  "review.map": "Карта небезпечних територій",
  "review.queue": "Черга",
  "review.state": "Показати",
  "review.state.pending": "очікують",
  "review.state.approved": "затверджені",
  "review.state.rejected": "відхилені",
  "review.state.all": "усі",
  "review.col.form": "Форма",
  "review.col.by": "Надіслав",
  "review.col.date": "Дата",
  "review.col.flags": "Зауваж\u00adення", // a soft hyphen: the narrow column breaks it there
  "review.queue.empty": "Немає даних у цьому стані.",
  "review.upload": "Додати експорт",
  "review.fix": "Виправити",
  "review.fix.reason": "виправлено на сторінці розгляду",
  "review.upload.hint": "ODK Central (CSV ZIP, OData JSON) або KoboToolbox (XLSX, CSV, JSON): кожне подання стає в чергу один раз, на розгляд.",
  "review.upload.button": "Поставити в чергу",
  "review.upload.done": "У черзі: {queued} (з позначками: {flagged}); були в черзі раніше: {duplicates}",
  "review.none": "Оберіть запис у черзі, щоб перевірити його.",
  "review.unnamed": "не вказано",
  "review.loading": "Завантаження…",
  "review.failed": "Не вдалося завантажити запис.",
  "review.submission": "Запис {id}",
  "review.meta.state": "Стан",
  "review.meta.by": "Надіслав",
  "review.meta.at": "Надіслано",
  "review.meta.organisation": "Організація",
  "review.meta.team": "Група",
  "review.meta.source": "Джерело",
  "review.meta.imported": "Додав до черги",
  "review.meta.decided": "Рішення ухвалив",
  "review.meta.reason": "Підстава",
  "review.meta.refs": "Записані дані",
  "review.flags": "Зауваження",
  "review.flags.none": "Зауважень немає: усі перевірки пройдено.",
  "review.records": "Що буде записано після затвердження",
  "review.record.new": "Новий запис: {kind}",
  "review.record.edit": "Зміна {ref} ({kind})",
  "review.record.same": "Поля не змінюються.",
  "review.col.field": "Поле",
  "review.col.current": "Зараз",
  "review.col.proposed": "Надіслано",
  "review.col.value": "Значення",
  "review.geometry": "Межі",
  "review.geometry.new": "Надіслана площа: {ha} га",
  "review.geometry.change": "Площа {from} га → {to} га; додано {added} га, вилучено {removed} га; межа зміщена до {moved} м",
  "review.geometry.same": "Межі не змінюються.",
  "review.answers": "Відповіді у формі",
  "review.history": "Історія перевірки",
  "review.history.when": "Коли",
  "review.history.who": "Хто",
  "review.history.what": "Дія",
  "review.history.why": "Підстава",
  "review.decide": "Рішення",
  "review.override": "Підстава затвердити попри зауваження (обов'язково)",
  "review.approve": "Затвердити",
  "review.reason": "Підстава відхилення (обов'язково)",
  "review.reject": "Відхилити",
  "review.done.approved": "Затверджено: дані записано до реєстру.",
  "review.done.rejected": "Відхилено.",
  "review.refused": "Відмовлено",
  "review.needs.reason": "Спершу вкажіть підставу.",
  "review.viewer": "Затверджує або відхиляє записи лише валідатор.",
  "review.legend.submitted": "надіслано",
  "review.legend.current": "межі в реєстрі зараз",
  "kind.hazards": "небезпечна територія",
  "kind.activities": "роботи",
  "kind.items": "виявлений предмет",
  "kind.accidents": "нещасний випадок",
  "kind.eore": "заняття з ризиків",
  "form.nts_survey": "нетехнічне обстеження",
  "form.eod_spot_task": "разове завдання ЗВБ",
  "form.clearance": "розмінування / технічне обстеження",
  "form.accident": "нещасний випадок і постраждалі",
  "form.risk_education": "заняття з ризиків вибухонебезпечних предметів",
  "action.imported": "додано до черги",
  "action.edited": "виправлено",
  "action.overridden": "затверджено попри зауваження",
  "action.approved": "затверджено",
  "action.rejected": "відхилено",
  "action.replaced": "замінено виправленим",
});

const AREA_COLOURS = {
  suspected: "#f28e2b", confirmed: "#d62728", in_progress: "#9467bd", cancelled: "#9e9e9e",
  reduced: "#4e9fd1", cleared: "#2ca02c", released: "#98df8a",
};
const SUBMITTED_COLOUR = "#00bcd4";
const CURRENT_COLOUR = "#1a237e";
const UKRAINE = [[22.0, 44.2], [40.3, 52.4]];
const EMPTY = { type: "FeatureCollection", features: [] };

const state = {
  user: null, // {name, role, permissions, csrf_token}
  queue: [],
  selected: null, // the id of the submission shown
  doc: null, // GET /api/submissions/{id}
  message: null, // [className, nodes] shown above the decision once after a change
};

/** Returns a value from the registry or the field as a span the page never translates. */
const raw = (v) => el("span", { translate: "no" }, v === null || v === undefined || v === "" ? "–" : String(v));

/** Returns the string `key` as nodes: its text, and each {name} of `vars` as a raw value. */
function tNodes(key, vars) {
  return t(key).split(/\{(\w+)\}/).map((part, i) => (i % 2 ? raw(vars[part]) : part)).filter((n) => n !== "");
}

// The forms' wording of every code, by language, kind of record and field (from the server)
const LABELS = JSON.parse(document.getElementById("code-labels").textContent);

/** Returns the labels of the codes of a field of a kind of record, or undefined: an area's
 * as the map words them, another kind's as the forms do. */
function codesOf(kind, field) {
  if (kind === "hazards") return CODES[currentLang()][field];
  return ((LABELS[currentLang()] || {})[kind] || {})[field];
}

/** Returns a field's value as the page shows it: a code's label where the page knows it. */
function shown(kind, field, value) {
  const codes = codesOf(kind, field);
  const label = (v) => codes[v] || String(v);
  // a stored list of codes is one text, "ap_mine;cmr"; a submitted one a list
  if (codes && typeof value === "string" && value.includes(";")) value = value.split(";");
  if (Array.isArray(value)) return codes ? value.map(label).join("; ") : raw(value.join(", "));
  if (codes && value !== null && value !== undefined && value !== "") return label(value);
  return raw(value);
}

/** Returns the label of a field of a record (as the map names it), else its name. */
const fieldLabel = (name) => (CODES[currentLang()].field || {})[name] || name;

/** Returns m² as hectares with 2 decimals (or "–"). */
const ha = (m2) => (m2 === null || m2 === undefined ? "–" : (m2 / 10000).toFixed(2));

/** Returns the JSON of a GET; throws on an error. */
async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

/** Returns whether the signed-in user may approve and reject. */
const mayDecide = () => !!state.user && (state.user.permissions || []).includes("review_submissions");

/** Returns whether the signed-in user may queue an export (an editor and up). */
const mayQueue = () => !!state.user && (state.user.permissions || []).includes("write");

/** Sends the chosen export to the queue; says what was queued, or why not. */
async function upload(ev) {
  ev.preventDefault();
  const file = $("upload-file").files[0];
  if (!file) return;
  const body = new FormData();
  body.append("file", file);
  const r = await fetch("/api/submissions", {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": (state.user && state.user.csrf_token) || "" },
    body,
  });
  const doc = await r.json().catch(() => ({}));
  if (r.ok) {
    $("upload").reset();
    await loadQueue(); // once the message shows, the queue lists what was queued
  }
  const message = $("upload-message");
  message.hidden = false;
  message.className = r.ok ? "done" : "error";
  message.replaceChildren(...(r.ok
    ? tNodes("review.upload.done", {
      queued: doc.queued.length, flagged: doc.flagged.length, duplicates: doc.duplicates.length,
    })
    : [t("review.refused"), ": ", raw(doc.field ? `${doc.field}: ${doc.detail}` : doc.detail || r.status)]));
}

// -- the queue -------------------------------------------------------------------------------

/** Reads the queue in the chosen state and lists it. */
async function loadQueue() {
  const doc = await getJSON(`/api/submissions?state=${encodeURIComponent($("state").value)}`);
  state.queue = doc.submissions;
  renderQueue();
}

/** Writes the queue's rows: form, submitter, date, number of flags. */
function renderQueue() {
  $("queue-body").replaceChildren(...state.queue.map((s) => el("tr", {
    "data-id": s.id, tabindex: "0", class: s.id === state.selected ? "selected" : "",
    onclick: () => openSubmission(s.id),
    onkeydown: (ev) => { if (ev.key === "Enter") openSubmission(s.id); },
  },
  el("td", {}, t(`form.${s.form_id}`)),
  el("td", {}, s.submitted_by ? raw(s.submitted_by) : el("span", { class: "note" }, t("review.unnamed"))),
  el("td", {}, raw(String(s.submitted_at || s.imported_at || "").slice(0, 10))),
  el("td", { class: s.flags.length ? "flag-count flagged" : "flag-count" }, raw(s.flags.length)))));
  $("queue-empty").hidden = state.queue.length > 0;
}

// -- the map ---------------------------------------------------------------------------------

/** Returns the map style: countries, the registry's hazard areas, and the submission's layers. */
function mapStyle() {
  const byStatus = ["match", ["get", "status"], ...Object.entries(AREA_COLOURS).flat(), "#555"];
  return {
    version: 8,
    sources: {
      countries: { type: "geojson", data: "/static/vendor/natural-earth/countries.geojson" },
      hazards: { type: "vector", url: "/tiles/hazards.json" }, // exact outlines: signed in
      current: { type: "geojson", data: EMPTY },
      submitted: { type: "geojson", data: EMPTY },
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#d7e6ef" } },
      { id: "land", type: "fill", source: "countries",
        paint: { "fill-color": ["case", ["==", ["get", "name"], "Ukraine"], "#fbf8ef", "#ebe7dc"] } },
      { id: "borders", type: "line", source: "countries", paint: { "line-color": "#8a8575", "line-width": 1 } },
      { id: "hazard-fill", type: "fill", source: "hazards", "source-layer": "hazards",
        paint: { "fill-color": byStatus, "fill-opacity": 0.3 } },
      { id: "hazard-line", type: "line", source: "hazards", "source-layer": "hazards",
        paint: { "line-color": byStatus, "line-width": 1 } },
      { id: "current-line", type: "line", source: "current",
        paint: { "line-color": CURRENT_COLOUR, "line-width": 2.5, "line-dasharray": [3, 2] } },
      { id: "submitted-fill", type: "fill", source: "submitted", filter: ["==", ["geometry-type"], "Polygon"],
        paint: { "fill-color": SUBMITTED_COLOUR, "fill-opacity": 0.45 } },
      { id: "submitted-line", type: "line", source: "submitted", filter: ["==", ["geometry-type"], "LineString"],
        paint: { "line-color": "#006064", "line-width": 3 } },
      { id: "submitted-points", type: "circle", source: "submitted", filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-color": SUBMITTED_COLOUR, "circle-radius": 7, "circle-stroke-color": "#006064", "circle-stroke-width": 2.5 } },
    ],
  };
}

/** Returns every [lon, lat] of a GeoJSON geometry. */
function positions(g) {
  if (!g) return [];
  if (g.type === "Point") return [g.coordinates];
  if (g.type === "GeometryCollection") return g.geometries.flatMap(positions);
  return g.coordinates.flat(g.type === "Polygon" || g.type === "MultiLineString" ? 1 : g.type === "MultiPolygon" ? 2 : 0);
}

/** Draws what a submission would write (and, for an edit, the current outline) and goes there. */
function drawSubmission(map, doc) {
  const feature = (g, i, r) => ({ type: "Feature", geometry: g, properties: { record: i, kind: r.kind, ref: r.ref || "" } });
  const polygons = doc.records.map((r, i) => r.geometry && feature(r.geometry, i, r)).filter(Boolean);
  // outlines drawn as lines of their own: MapLibre fills no ring of zero area, and a boundary
  // walked in the wrong order (a "bow tie", flagged) has one; the reviewer must still see it
  const outlines = polygons
    .filter((f) => f.geometry.type === "Polygon" || f.geometry.type === "MultiPolygon")
    .map((f) => ({
      ...f,
      geometry: {
        type: "MultiLineString",
        coordinates: f.geometry.type === "Polygon" ? f.geometry.coordinates : f.geometry.coordinates.flat(),
      },
    }));
  const submitted = [...polygons, ...outlines];
  const current = doc.records.map((r, i) => r.current_geometry && feature(r.current_geometry, i, r)).filter(Boolean);
  map.getSource("submitted").setData({ type: "FeatureCollection", features: submitted });
  map.getSource("current").setData({ type: "FeatureCollection", features: current });
  // the view holds what it would write, the current outline, and the area a point belongs to
  // (drawn by the tiles): an item or accident far from its area shows as far
  const areas = doc.records.flatMap((r) => positions(r.area_geometry));
  const all = [...submitted, ...current].flatMap((f) => positions(f.geometry)).concat(areas);
  if (!all.length) return;
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]],
    { padding: 80, maxZoom: 15, duration: 0 });
}

// -- the submission --------------------------------------------------------------------------

/** Reads submission `id` and shows it: map, details, decision. */
async function openSubmission(id) {
  state.selected = id;
  renderQueue();
  $("submission-none").hidden = true;
  const body = $("submission-body");
  body.hidden = false;
  body.replaceChildren(el("p", { class: "note" }, t("review.loading")));
  try {
    state.doc = await getJSON(`/api/submissions/${id}`);
  } catch (e) {
    body.replaceChildren(el("p", { class: "error" }, t("review.failed")));
    return;
  }
  if (state.selected !== id) return; // another was chosen meanwhile
  drawSubmission(window.map, state.doc);
  renderSubmission();
}

/** Returns a two-column row of a table of facts. */
function fact(labelKey, value) {
  return el("tr", {}, el("th", {}, t(labelKey)), el("td", {}, value));
}

/** Writes the details of the submission shown. */
function renderSubmission() {
  const d = state.doc;
  const v = d.values || {};
  const facts = el("table", { class: "facts" },
    fact("review.meta.state", t(`review.state.${d.state}`)),
    fact("review.meta.by", d.submitted_by ? raw(d.submitted_by) : t("review.unnamed")),
    fact("review.meta.at", raw(d.submitted_at)),
    fact("review.meta.organisation", raw(v.organisation)),
    v.team ? fact("review.meta.team", raw(v.team)) : null,
    fact("review.meta.source", raw(d.source)),
    fact("review.meta.imported", raw(`${d.imported_by}, ${String(d.imported_at).slice(0, 16)}`)),
    d.decided_by ? fact("review.meta.decided", raw(`${d.decided_by}, ${String(d.decided_at).slice(0, 16)}`)) : null,
    d.decision_reason || d.override_reason ? fact("review.meta.reason", raw(d.decision_reason || d.override_reason)) : null,
    d.refs && d.refs.length ? fact("review.meta.refs", raw(d.refs.join(", "))) : null);
  $("submission-body").replaceChildren(
    el("h2", { id: "submission-title", "data-id": d.id }, ...tNodes("review.submission", { id: d.id }),
      el("span", { class: "form" }, t(`form.${d.form_id}`))),
    facts,
    renderFlags(d),
    el("h3", {}, t("review.records")),
    ...d.records.map(renderRecord),
    renderDecision(d),
    renderAnswers(d),
    renderHistory(d));
}

/** Returns the flags of a submission, each with the question it names and its message. */
function renderFlags(d) {
  const box = el("section", { id: "flags" }, el("h3", {}, t("review.flags")));
  if (!d.flags.length) {
    box.append(el("p", { class: "ok" }, t("review.flags.none")));
    return box;
  }
  const fixable = d.state === "pending" && mayQueue();
  box.append(el("ul", { class: "flags" }, d.flags.map((f) => el("li", { "data-code": f.code, "data-field": f.field },
    el("b", { translate: "no" }, f.field), " ", raw(f.message),
    fixable && CORRECTABLE.has(f.code) && (f.code !== "refused_edit" || f.field in (d.values || {}))
      ? correction(d, f.field) : null))));
  return box;
}

// The flags an answer typed on the page can fix (not a missing repeat row, nor a shape)
const CORRECTABLE = new Set(["unknown_choice", "unknown_ref", "future_date", "missing_value", "unreadable_value",
  "refused_edit"]);

/** Returns the answer a flag names: a question's, or a repeat row's ("item[2]/item_state"). */
function answerOf(d, field) {
  const m = /^(\w+)\[(\d+)\]\/(\w+)$/.exec(field);
  if (!m) return (d.values || {})[field] || "";
  const row = ((d.repeats || {})[m[1]] || [])[Number(m[2]) - 1] || {};
  return row[m[3]] || "";
}

/** Returns a small form that corrects the answer `field` names (PATCH), for an editor. */
function correction(d, field) {
  const input = el("input", { type: "text", value: answerOf(d, field), "aria-label": field, class: "fix-value" });
  const form = el("form", { class: "fix" }, input,
    el("button", { type: "submit" }, t("review.fix")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await fetch(`/api/submissions/${d.id}`, {
      method: "PATCH",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": (state.user && state.user.csrf_token) || "" },
      body: JSON.stringify({ set: { [field]: input.value.trim() }, reason: t("review.fix.reason") }),
    });
    const doc = await r.json().catch(() => ({}));
    if (!r.ok) {
      form.append(el("span", { class: "error" }, " ", t("review.refused"), ": ", raw(doc.detail || r.status)));
      return;
    }
    state.doc = doc;
    await loadQueue(); // the queue first: once the flag shows as fixed, the queue agrees
    renderSubmission();
    drawSubmission(window.map, doc);
  });
  return form;
}

/** Returns one record an approval writes: for an edit, what changes; else its values. */
function renderRecord(r) {
  const kind = t(`kind.${r.kind}`);
  const heading = r.action === "edit" ? tNodes("review.record.edit", { ref: r.ref, kind })
    : [t("review.record.new", { kind })];
  const box = el("section", { class: "record", "data-kind": r.kind, "data-action": r.action }, el("h4", {}, ...heading));
  if (r.changes) {
    box.append(r.changes.length
      ? el("table", { class: "diff" },
        el("tr", {}, el("th", {}, t("review.col.field")), el("th", {}, t("review.col.current")), el("th", {}, t("review.col.proposed"))),
        r.changes.map((c) => el("tr", { "data-field": c.field },
          el("th", {}, fieldLabel(c.field)), el("td", { class: "was" }, shown(r.kind, c.field, c.current)),
          el("td", { class: "now" }, shown(r.kind, c.field, c.proposed)))))
      : el("p", { class: "note" }, t("review.record.same")));
  } else {
    box.append(el("table", { class: "values" }, Object.entries(r.values).map(([k, val]) =>
      el("tr", { "data-field": k }, el("th", {}, fieldLabel(k)), el("td", {}, shown(r.kind, k, val))))));
  }
  const g = r.geometry_change;
  if (g) {
    let text;
    if (g.current_m2 === null || g.current_m2 === undefined) text = tNodes("review.geometry.new", { ha: ha(g.proposed_m2) });
    else if (g.same) text = [t("review.geometry.same")];
    else {
      text = tNodes("review.geometry.change", {
        from: ha(g.current_m2), to: ha(g.proposed_m2), added: ha(g.added_m2), removed: ha(g.removed_m2), moved: g.moved_m,
      });
    }
    box.append(el("p", { class: "geometry-change" }, el("b", {}, t("review.geometry")), ": ", ...text));
  }
  return box;
}

/** Returns the answers as submitted (folded): questions, then each repeat's rows. */
function renderAnswers(d) {
  const rows = Object.entries(d.values).map(([k, val]) => el("tr", {}, el("th", { translate: "no" }, k), el("td", {}, raw(val))));
  for (const [name, list] of Object.entries(d.repeats || {})) {
    list.forEach((row, i) => {
      for (const [k, val] of Object.entries(row)) {
        rows.push(el("tr", {}, el("th", { translate: "no" }, `${name}[${i + 1}]/${k}`), el("td", {}, raw(val))));
      }
    });
  }
  return el("details", { id: "answers" }, el("summary", {}, t("review.answers")), el("table", { class: "values" }, rows));
}

/** Returns the review history: imported, edited, overridden, approved, rejected. */
function renderHistory(d) {
  return el("section", {}, el("h3", {}, t("review.history")),
    el("table", { class: "history", id: "history" },
      el("tr", {}, ["when", "who", "what", "why"].map((k) => el("th", {}, t(`review.history.${k}`)))),
      d.history.map((e) => el("tr", {}, el("td", {}, raw(String(e.at).slice(0, 16).replace("T", " "))),
        el("td", {}, raw(e.actor)), el("td", {}, t(`action.${e.action}`)), el("td", {}, raw(e.reason))))));
}

/** Returns the decision controls of a pending submission: approve (with an override reason
 * when it is flagged) and reject (with a reason), for a validator. */
function renderDecision(d) {
  const box = el("section", { id: "decision" });
  if (state.message) {
    box.append(el("p", { class: state.message[0], id: "decision-message" }, ...state.message[1]));
    state.message = null;
  }
  if (d.state !== "pending") return box;
  box.prepend(el("h3", {}, t("review.decide")));
  if (!mayDecide()) {
    box.append(el("p", { class: "note" }, t("review.viewer")));
    return box;
  }
  const flagged = d.flags.length > 0;
  const approve = el("form", { id: "approve-form" },
    flagged ? el("label", {}, el("span", {}, t("review.override")),
      el("textarea", { id: "override", rows: "2", maxlength: "2000" })) : null,
    el("button", { type: "submit", id: "approve", class: "approve" }, t("review.approve")));
  const reject = el("form", { id: "reject-form" },
    el("label", {}, el("span", {}, t("review.reason")), el("textarea", { id: "reject-reason", rows: "2", maxlength: "2000" })),
    el("button", { type: "submit", id: "reject", class: "reject" }, t("review.reject")));
  approve.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const override = flagged ? $("override").value.trim() : null;
    if (flagged && !override) return say("error", [t("review.needs.reason")]);
    decide(d.id, "approve", override ? { override } : {});
  });
  reject.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const reason = $("reject-reason").value.trim();
    if (!reason) return say("error", [t("review.needs.reason")]);
    decide(d.id, "reject", { reason });
  });
  box.append(approve, reject);
  return box;
}

/** Shows a message in the decision box (a refusal, or a missing reason). */
function say(cls, nodes) {
  const old = $("decision-message");
  const p = el("p", { class: cls, id: "decision-message" }, ...nodes);
  if (old) old.replaceWith(p);
  else $("decision").append(p);
}

/** Approves or rejects a submission; then shows it again, with the queue and the areas. */
async function decide(id, action, body) {
  const r = await fetch(`/api/submissions/${id}/${action}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": (state.user && state.user.csrf_token) || "" },
    body: JSON.stringify(body),
  });
  const doc = await r.json().catch(() => ({}));
  if (!r.ok) {
    // the problem names the question (field) and what to do; shown as the server words it
    return say("error", [t("review.refused"), ": ", raw(doc.field ? `${doc.field}: ${doc.detail}` : doc.detail || r.status)]);
  }
  state.doc = doc;
  state.message = ["done", [t(action === "approve" ? "review.done.approved" : "review.done.rejected")]];
  const map = window.map;
  if (typeof map.refreshTiles === "function") map.refreshTiles("hazards"); // an approval wrote areas
  else map.style.sourceCaches.hazards.reload();
  // the queue first: once the decision shows as done, the queue no longer lists it
  await loadQueue();
  renderSubmission();
}

// -- page ------------------------------------------------------------------------------------

/** Starts the page: who is signed in, the map, the queue and their events. */
async function start() {
  translatePage();
  state.user = await getJSON("/api/me").catch(() => null);
  $("who").hidden = !state.user;
  if (state.user) $("who-name").textContent = `${state.user.name} (${state.user.role})`;
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
  $("state").addEventListener("change", loadQueue);
  $("upload").hidden = !mayQueue();
  $("upload").addEventListener("submit", upload);
  $("lang").addEventListener("click", () => switchLang(() => {
    renderQueue();
    if (state.doc && state.selected === state.doc.id) renderSubmission();
  }));
  $("signout").addEventListener("click", async () => {
    await fetch("/logout", { method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": (state.user && state.user.csrf_token) || "" } });
    location.assign("/");
  });
  await new Promise((done) => (map.loaded() ? done() : map.once("load", done)));
  await loadQueue();
  const wanted = Number(new URLSearchParams(location.search).get("id"));
  if (wanted) openSubmission(wanted);
}

document.addEventListener("DOMContentLoaded", start);
