// The words of the map pages in English and Ukrainian, in the terms of Ukraine's national mine
// action standards (ДСТУ / НСПМД): every string a visitor can see is here, in both languages.
// Elements name their string with data-i18n (text), data-i18n-placeholder or data-i18n-title;
// values from the registry (refs, names, numbers, dates) carry translate="no" and stay as they are.
"use strict";

const I18N = {
  en: {
    "page.title": "Hazardous areas: map",
    "page.heading": "Explosive ordnance hazardous areas",
    "public.title": "Public warning map",
    "public.heading": "Where explosive ordnance may be: public warning map",
    "lang.switch": "Українська",
    "lang.switch.title": "Show the page in Ukrainian",
    "signin": "Sign in",
    "signout": "Sign out",
    "signed.in.as": "Signed in as",
    "public.view": "Public view: generalised outlines only",
    "search.placeholder": "Search by reference or settlement",
    "search.button": "Find",
    "search.none": "Nothing found for this search.",
    "filters": "Filters",
    "filter.status": "Status",
    "filter.type": "Hazard type",
    "filter.contamination": "Contamination",
    "filter.reported": "Date reported",
    "filter.from": "from",
    "filter.to": "to",
    "filter.any": "any",
    "legend": "Legend",
    "legend.items": "Explosive ordnance items found",
    "legend.accidents": "Explosive ordnance accidents",
    "legend.settlement": "Settlement",
    "list.heading": "Areas in view",
    "list.sort": "Sort by",
    "sort.area": "area",
    "sort.status": "status",
    "sort.date": "date reported",
    "sort.rank": "priority rank",
    "list.rank": "priority #{n}",
    "colour.by": "Colour areas by",
    "colour.status": "status",
    "colour.rank": "priority rank",
    "legend.rank": "Priority rank in the latest saved ranking",
    "legend.rank.first": "first to clear",
    "legend.rank.none": "not in the ranking",
    "legend.ranking": "Ranking {id} as of {date}",
    "legend.ranking.saved": "saved on {date} by {who}",
    "list.count": "{n} areas in view",
    "list.more": "and {n} more: zoom in to see them",
    "list.empty": "No hazardous area in view matches the filters.",
    "details.heading": "Area details",
    "details.close": "Close",
    "details.none": "Click an area on the map or in the list to see its details.",
    "details.loading": "Loading…",
    "details.failed": "The details could not be loaded.",
    "field.name": "Name",
    "field.status": "Status",
    "field.hazard_type": "Hazard type",
    "field.contamination": "Contamination",
    "field.land_use": "Land use",
    "field.reported_on": "Reported on",
    "field.area": "Area",
    "field.admin_area": "Oblast",
    "field.version": "Version",
    "field.changed": "Last changed",
    "field.evidence": "Evidence",
    "field.warning": "Warning",
    "unit.ha": "ha",
    "history.heading": "History",
    "history.version": "Version",
    "history.when": "When",
    "history.who": "Who",
    "history.what": "What changed",
    "history.created": "recorded",
    "residual.heading": "Residual hazard estimate",
    "residual.expected": "Expected live devices today",
    "residual.expected.range": "Range of the expected count (90%)",
    "residual.actual": "Actual number live (90% range)",
    "residual.devices": "devices",
    "residual.any": "Chance at least one is live",
    "residual.safe": "Date the chance falls below the threshold",
    "residual.never": "never within the model's horizon",
    "residual.curve": "Expected live devices over time",
    "residual.none": "No estimate for this area.",
    "residual.chart.title": "Live devices over time: the expected count with its range, and the range of the actual number",
    "residual.chart.expected": "expected live devices",
    "residual.chart.band": "range of the expected count (90%)",
    "residual.chart.actual": "actual number live, 90% range (whole devices)",
    "residual.chart.scale": "Vertical scale: square root, so that a few devices show beside hundreds.",
    "residual.finds.heading": "What the finds moved",
    "residual.finds.stage": "Figure, finds",
    "residual.finds.moved": "Before → after (90% range)",
    "residual.finds.found": "found: {live} live, {inert} inert",
    "residual.finds.weight": "the figure counts as {n} devices found",
    "residual.stage.dud": "share that failed to function (duds)",
    "residual.stage.self_destruct": "share failing to self-destruct",
    "residual.stage.self_deactivate": "share failing to self-deactivate",
    "residual.chart.at": "estimate date",
    "residual.chart.safe": "safe date",
    "status.form": "Change the status",
    "status.new": "New status",
    "status.reason": "Reason",
    "status.submit": "Submit",
    "status.done": "Status changed: version {v}.",
    "status.proposed": "Proposal recorded: a validator must approve it.",
    "status.conflict": "The change is not allowed now.",
    "status.needs": "Needed first",
    "status.stale": "The area changed meanwhile: it has been reloaded, try again.",
    "status.failed": "The change failed",
    "signin.note": "Sign in to see exact outlines, found items, accidents and history.",
    "warning.heading": "Found a suspicious object?",
    "warning.touch": "Do not touch it, do not move it, do not pick it up.",
    "warning.mark": "Mark the place if you can do it safely (a stick, a bright cloth), without going closer.",
    "warning.away": "Keep away and keep others away; go back the way you came.",
    "warning.report": "Report it: call 101 (State Emergency Service) or 102 (police).",
    "warning.note": "Outlines on this map are generalised. An area not shown is not guaranteed safe.",
    "attribution": "Borders: Natural Earth. Settlements: GeoNames. Map: MapLibre.",
    "fullmap": "Map for registry users",
    "public.link": "Public warning map",
    "review.link": "Field submissions to review",
  },
  uk: {
    "page.title": "Небезпечні території: карта",
    "page.heading": "Території, забруднені вибухонебезпечними предметами",
    "public.title": "Публічна карта попередження",
    "public.heading": "Де можуть бути вибухонебезпечні предмети: публічна карта попередження",
    "lang.switch": "English",
    "lang.switch.title": "Показати сторінку англійською",
    "signin": "Увійти",
    "signout": "Вийти",
    "signed.in.as": "Ви увійшли як",
    "public.view": "Публічний вигляд: лише узагальнені межі",
    "search.placeholder": "Пошук за номером або населеним пунктом",
    "search.button": "Знайти",
    "search.none": "За цим запитом нічого не знайдено.",
    "filters": "Фільтри",
    "filter.status": "Статус",
    "filter.type": "Тип небезпечної території",
    "filter.contamination": "Забруднення",
    "filter.reported": "Дата повідомлення",
    "filter.from": "з",
    "filter.to": "по",
    "filter.any": "усі",
    "legend": "Умовні позначення",
    "legend.items": "Виявлені вибухонебезпечні предмети",
    "legend.accidents": "Нещасні випадки з вибухонебезпечними предметами",
    "legend.settlement": "Населений пункт",
    "list.heading": "Території в межах карти",
    "list.sort": "Упорядкувати за",
    "sort.area": "площею",
    "sort.status": "статусом",
    "sort.date": "датою повідомлення",
    "sort.rank": "пріоритетом",
    "list.rank": "пріоритет №{n}",
    "colour.by": "Колір територій за",
    "colour.status": "статусом",
    "colour.rank": "пріоритетом",
    "legend.rank": "Місце в останньому збереженому рейтингу пріоритетності",
    "legend.rank.first": "розчищати першою",
    "legend.rank.none": "не входить до рейтингу",
    "legend.ranking": "Рейтинг {id} станом на {date}",
    "legend.ranking.saved": "збережено {date}, {who}",
    "list.count": "Територій у межах карти: {n}",
    "list.more": "і ще {n}: збільште масштаб, щоб побачити їх",
    "list.empty": "Жодна небезпечна територія в межах карти не відповідає фільтрам.",
    "details.heading": "Відомості про територію",
    "details.close": "Закрити",
    "details.none": "Натисніть на територію на карті або в переліку, щоб побачити відомості про неї.",
    "details.loading": "Завантаження…",
    "details.failed": "Не вдалося завантажити відомості.",
    "field.name": "Назва",
    "field.status": "Статус",
    "field.hazard_type": "Тип небезпечної території",
    "field.contamination": "Забруднення",
    "field.land_use": "Використання земель",
    "field.reported_on": "Дата повідомлення",
    "field.area": "Площа",
    "field.admin_area": "Область",
    "field.version": "Версія",
    "field.changed": "Остання зміна",
    "field.evidence": "Ознаки забруднення",
    "field.warning": "Попередження",
    "unit.ha": "га",
    "history.heading": "Історія змін",
    "history.version": "Версія",
    "history.when": "Коли",
    "history.who": "Хто",
    "history.what": "Що змінено",
    "history.created": "внесено до реєстру",
    "residual.heading": "Оцінка залишкової небезпеки",
    "residual.expected": "Очікувана кількість боєздатних пристроїв сьогодні",
    "residual.expected.range": "Діапазон очікуваної кількості (90%)",
    "residual.actual": "Фактична кількість боєздатних (діапазон 90%)",
    "residual.devices": "од.",
    "residual.any": "Імовірність, що хоча б один боєздатний",
    "residual.safe": "Дата, коли ймовірність стане нижчою за поріг",
    "residual.never": "не в межах горизонту моделі",
    "residual.curve": "Очікувана кількість боєздатних пристроїв у часі",
    "residual.none": "Для цієї території оцінки немає.",
    "residual.chart.title": "Боєздатні пристрої у часі: очікувана кількість з її діапазоном і діапазон фактичної кількості",
    "residual.chart.expected": "очікувана кількість боєздатних пристроїв",
    "residual.chart.band": "діапазон очікуваної кількості (90%)",
    "residual.chart.actual": "фактична кількість боєздатних, діапазон 90% (цілі одиниці)",
    "residual.chart.scale": "Шкала по вертикалі — квадратний корінь, щоб кілька пристроїв було видно поряд із сотнями.",
    "residual.finds.heading": "Як виявлені предмети змінили оцінку",
    "residual.finds.stage": "Показник, виявлені предмети",
    "residual.finds.moved": "До → після (діапазон 90%)",
    "residual.finds.found": "виявлено: {live} боєздатних, {inert} небоєздатних",
    "residual.finds.weight": "вага вихідного показника: {n} од.",
    "residual.stage.dud": "частка боєприпасів, що не спрацювали",
    "residual.stage.self_destruct": "частка, що не самоліквідувалася",
    "residual.stage.self_deactivate": "частка, що не самодеактивувалася",
    "residual.chart.at": "дата оцінки",
    "residual.chart.safe": "безпечна дата",
    "status.form": "Змінити статус",
    "status.new": "Новий статус",
    "status.reason": "Підстава",
    "status.submit": "Надіслати",
    "status.done": "Статус змінено: версія {v}.",
    "status.proposed": "Пропозицію записано: її має затвердити валідатор.",
    "status.conflict": "Цю зміну зараз не дозволено.",
    "status.needs": "Спершу потрібно",
    "status.stale": "Територію тим часом змінено: її перезавантажено, спробуйте ще раз.",
    "status.failed": "Зміна не вдалася",
    "signin.note": "Увійдіть, щоб бачити точні межі, виявлені предмети, нещасні випадки та історію змін.",
    "warning.heading": "Знайшли підозрілий предмет?",
    "warning.touch": "Не торкайтеся, не переміщуйте, не піднімайте його.",
    "warning.mark": "Позначте місце, якщо це безпечно (палиця, яскрава тканина), не підходячи ближче.",
    "warning.away": "Відійдіть і не підпускайте інших; повертайтеся тим самим шляхом, яким прийшли.",
    "warning.report": "Повідомте: телефонуйте 101 (ДСНС) або 102 (поліція).",
    "warning.note": "Межі на цій карті узагальнені. Територія, якої немає на карті, не обов'язково безпечна.",
    "attribution": "Кордони: Natural Earth. Населені пункти: GeoNames. Карта: MapLibre.",
    "fullmap": "Карта для користувачів реєстру",
    "public.link": "Публічна карта попередження",
    "review.link": "Польові дані на розгляд",
  },
};

// Codes of the registry, by field, in both languages.
const CODES = {
  en: {
    status: {
      suspected: "suspected hazardous area",
      confirmed: "confirmed hazardous area",
      in_progress: "clearance in progress",
      cancelled: "cancelled by non-technical survey",
      reduced: "reduced by technical survey",
      cleared: "cleared",
      released: "released",
    },
    hazard_type: { SHA: "suspected hazardous area (SHA)", CHA: "confirmed hazardous area (CHA)" },
    contamination: {
      ap_mine: "anti-personnel mines",
      av_mine: "anti-vehicle mines",
      cmr: "cluster munition remnants",
      uxo: "unexploded ordnance",
      axo: "abandoned explosive ordnance",
      ied: "improvised explosive devices",
    },
    land_use: {
      agricultural: "agricultural", pasture: "pasture", residential: "residential",
      infrastructure: "infrastructure", industrial: "industrial", forest: "forest",
      water: "water", other: "other",
    },
    field: {
      status: "status", name: "name", hazard_type: "hazard type", contamination: "contamination",
      land_use: "land use", evidence: "evidence", reported_on: "date reported",
      source_org: "source organisation", admin_area: "oblast", notes: "notes", area_m2: "area",
      geometry: "outline", ref: "reference",
      // the other kinds of record (the review page shows what an approval writes)
      area_ref: "hazard area", activity_ref: "activity", activity_type: "activity type",
      organisation: "organisation", start_date: "start date", end_date: "end date",
      cancelled_m2: "area cancelled (m²)", reduced_m2: "area reduced (m²)", cleared_m2: "area cleared (m²)",
      evidence_found: "evidence found", category: "category", description: "description",
      quantity: "quantity", state: "state", found_on: "date found", occurred_on: "date of accident",
      device_category: "device category", killed_civilian: "civilians killed",
      injured_civilian: "civilians injured", killed_deminer: "deminers killed",
      injured_deminer: "deminers injured", age_group: "age group", sex: "sex", held_on: "date held",
      method: "method", girls: "girls", boys: "boys", women: "women", men: "men",
      profile_id: "device profile", quantity_low: "quantity, low", quantity_best: "quantity, best estimate",
      quantity_high: "quantity, high", emplaced_on: "emplaced on", emplaced_until: "emplaced until",
      source: "source", confidence: "confidence",
    },
  },
  uk: {
    status: {
      suspected: "підозрювана небезпечна територія",
      confirmed: "підтверджена небезпечна територія",
      in_progress: "триває розмінування",
      cancelled: "скасована нетехнічним обстеженням",
      reduced: "зменшена технічним обстеженням",
      cleared: "очищена",
      released: "звільнена",
    },
    hazard_type: {
      SHA: "підозрювана небезпечна територія (ПНТ)",
      CHA: "підтверджена небезпечна територія (ПдНТ)",
    },
    contamination: {
      ap_mine: "протипіхотні міни",
      av_mine: "протитранспортні міни",
      cmr: "залишки касетних боєприпасів",
      uxo: "нерозірвані боєприпаси",
      axo: "залишені вибухонебезпечні боєприпаси",
      ied: "саморобні вибухові пристрої",
    },
    land_use: {
      agricultural: "сільськогосподарські угіддя", pasture: "пасовище", residential: "житлова забудова",
      infrastructure: "інфраструктура", industrial: "промислові землі", forest: "ліс",
      water: "водні об'єкти", other: "інше",
    },
    field: {
      status: "статус", name: "назва", hazard_type: "тип території", contamination: "забруднення",
      land_use: "використання земель", evidence: "ознаки забруднення",
      reported_on: "дата повідомлення", source_org: "організація-джерело", admin_area: "область",
      notes: "примітки", area_m2: "площа", geometry: "межі", ref: "номер",
      area_ref: "небезпечна територія", activity_ref: "робота", activity_type: "вид робіт",
      organisation: "організація", start_date: "дата початку", end_date: "дата завершення",
      cancelled_m2: "скасована площа (м²)", reduced_m2: "зменшена площа (м²)", cleared_m2: "очищена площа (м²)",
      evidence_found: "виявлено ознаки забруднення", category: "категорія", description: "опис",
      quantity: "кількість", state: "стан", found_on: "дата виявлення", occurred_on: "дата нещасного випадку",
      device_category: "категорія предмета", killed_civilian: "загинуло цивільних",
      injured_civilian: "поранено цивільних", killed_deminer: "загинуло саперів",
      injured_deminer: "поранено саперів", age_group: "вікова група", sex: "стать", held_on: "дата заняття",
      method: "метод", girls: "дівчата", boys: "хлопці", women: "жінки", men: "чоловіки",
      profile_id: "профіль пристрою", quantity_low: "кількість, мінімум", quantity_best: "кількість, найкраща оцінка",
      quantity_high: "кількість, максимум", emplaced_on: "встановлено", emplaced_until: "встановлювалися до",
      source: "джерело", confidence: "достовірність",
    },
  },
};

const LANG_KEY = "landrelease.lang";

/** Returns the language chosen before (localStorage), else the browser's if Ukrainian, else en. */
function currentLang() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === "en" || saved === "uk") return saved;
  return (navigator.language || "").toLowerCase().startsWith("uk") ? "uk" : "en";
}

/** Returns the string `key` in the current language, with {name} replaced from `vars`. */
function t(key, vars) {
  const table = I18N[currentLang()];
  let s = key in table ? table[key] : I18N.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, String(v));
  return s;
}

/** Returns the label of a registry code of `field` (status, contamination, ...) in the current language. */
function code(field, value) {
  if (value === null || value === undefined || value === "") return "–"; // not recorded
  const table = CODES[currentLang()][field] || {};
  return table[value] || String(value);
}

/** Writes the current language into every element that names a string, and into <html lang>. */
function translatePage(root) {
  const lang = currentLang();
  document.documentElement.lang = lang;
  (root || document).querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  (root || document).querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  (root || document).querySelectorAll("[data-i18n-title]").forEach((el) => {
    el.title = t(el.dataset.i18nTitle);
  });
  (root || document).querySelectorAll("[data-i18n-code]").forEach((el) => {
    const [field, value] = el.dataset.i18nCode.split(":");
    el.textContent = code(field, value);
  });
}

/** Switches to the other language, remembers it and calls `onChange` to redraw what is dynamic. */
function switchLang(onChange) {
  localStorage.setItem(LANG_KEY, currentLang() === "en" ? "uk" : "en");
  translatePage();
  if (onChange) onChange();
}
