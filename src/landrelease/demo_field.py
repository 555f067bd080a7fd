"""Field submissions of the synthetic demo: a few submissions of each kind waiting for review,
so that the review queue and its page have something to show.

Each is made as a field team's app would send it (ODK's text encoding), about areas of the
demo registry: a spot task in an area, a survey that redraws an area, a clearance in
progress, a risk-education session, and two that are flagged (an accident far from its area,
a new area whose walked boundary crosses itself). All of it is synthetic.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import shapely
import shapely.affinity

from landrelease.field.submission import Submission
from landrelease.registry import Registry

SUBMITTED_AT = "2026-11-02T10:15:00Z"
DAY = "2026-11-02"


def _point(lon: float, lat: float, acc: float = 4.0) -> str:
    return f"{lat:.6f} {lon:.6f} 150.0 {acc}"


def _shape(poly: shapely.Polygon) -> str:
    return ";".join(_point(x, y) for x, y in poly.exterior.coords)


def _outline(g: Any) -> shapely.Polygon:
    """Return a polygon, or a multipolygon's first part."""
    return g.geoms[0] if isinstance(g, shapely.MultiPolygon) else g


def demo_submissions(
    reg: Registry, rng: np.random.Generator, areas: list[dict[str, Any]], label: str
) -> list[Submission]:
    """Return six synthetic submissions about `areas` of `reg` (dicts with ref, geometry)."""
    picks = [areas[int(i)] for i in rng.choice(len(areas), size=4, replace=False)]
    org = f"Synthetic Demining Organisation ({label})"

    def sub(form: str, team: int, values: dict[str, str], **repeats: list[dict[str, str]]) -> Any:
        return Submission(
            form_id=form,
            instance_id=f"uuid:{uuid.UUID(int=int(rng.integers(2**62)) << 64 | 0x4000)}",
            submitted_by=f"synthetic-team-{team}",
            submitted_at=SUBMITTED_AT,
            values={"landrelease_form": form, "organisation": org, **values},
            repeats=repeats,
            source=label,
        )

    spot, redrawn, cleared, far = picks
    c = spot["geometry"].centroid
    bigger = shapely.affinity.scale(_outline(redrawn["geometry"]), 1.3, 1.3)
    part = shapely.affinity.scale(_outline(cleared["geometry"]), 0.5, 0.5)
    fc = far["geometry"].centroid
    x, y = fc.x + 0.6, fc.y + 0.45  # some 40 km off its area: a new area, walked wrongly
    d = 0.003
    return [
        sub(
            "eod_spot_task",
            1,
            {"area_ref": spot["ref"], "task_date": DAY, "notes": f"{label}: spot task"},
            item=[
                {
                    "item_location": _point(c.x, c.y),
                    "item_category": "uxo",
                    "item_description": f"{label}: mortar round",
                    "item_quantity": "1",
                    "item_state": "destroyed",
                }
            ],
        ),
        sub(
            "nts_survey",
            2,
            {
                "area_ref": redrawn["ref"],
                "reported_on": DAY,
                "hazard_type": reg.hazard(redrawn["ref"]).hazard_type,
                "evidence": f"{label}: villagers show a wider strip along the tree line",
                "contamination": "ap_mine",
                "shape_method": "polygon",
                "area_shape": _shape(bigger),
            },
        ),
        sub(
            "clearance",
            3,
            {
                "area_ref": cleared["ref"],
                "activity_type": "clearance",
                "activity_status": "open",
                "start_date": "2026-10-12",
                "cleared_shape": _shape(part),
                "evidence_found": "no",
            },
        ),
        sub(
            "risk_education",
            4,
            {
                "held_on": DAY,
                "session_location": _point(c.x + 0.02, c.y + 0.01),
                "method": "interpersonal",
                "girls": "14",
                "boys": "17",
                "women": "9",
                "men": "6",
            },
        ),
        sub(
            "accident",
            5,
            {
                "occurred_on": "2026-10-28",
                "accident_location": _point(fc.x + 0.08, fc.y),
                "area_ref": far["ref"],
                "device_category": "unknown",
            },
            victim=[
                {
                    "victim_outcome": "injured",
                    "victim_group": "civilian",
                    "victim_sex": "male",
                    "victim_age_group": "adult",
                }
            ],
        ),
        sub(
            "nts_survey",
            6,
            {
                "reported_on": DAY,
                "name": f"{label}: field by the dam",
                "hazard_type": "SHA",
                "evidence": f"{label}: a farmer saw a tripwire",
                "contamination": "ap_mine",
                "shape_method": "points",
            },
            boundary=[
                {"boundary_point": _point(px, py)}
                for px, py in ((x, y), (x + d, y + d), (x + d, y), (x, y + d))
            ],
        ),
    ]


__all__ = ["demo_submissions"]
