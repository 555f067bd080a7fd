"""An area's reasons in one line: the largest parts of its score, in plain words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from landrelease.domain.records import HAZARDS
from landrelease.priority.config import COMPONENTS, PriorityConfig

if TYPE_CHECKING:
    from landrelease.prioritising import Ranking
    from landrelease.registry import Registry


def _phrase(component: str, raw: float, config: PriorityConfig, status: str | None) -> str:
    v = config.values
    if component == "people":
        reach = v["people"]["bands_m"][-1] / 1000
        return f"{raw:,.0f} people within {reach:g} km (weighted by distance)"
    if component == "buildings":
        return f"{raw:,.0f} buildings"
    if component == "facilities":
        return f"schools, clinics or water points near ({raw:,.0f} facility points)"
    if component == "roads":
        return f"{raw:,.2f} class-weighted km of road"
    if component == "farmland":
        return f"{raw:,.1f} ha of farmland"
    if component == "accidents":
        n = round(raw)
        days = v["accidents"]["window_days"]
        return f"{n} accident{'s' if n != 1 else ''} nearby in {days} days"
    if component == "residual":
        return f"{raw:,.1f} live devices expected"
    if component == "status":
        return f"status {status}" if status else f"{raw:g} status points"
    return f"{raw:,.0f} items found"


def reasons(
    row: dict[str, Any], config: PriorityConfig, *, status: str | None = None, most: int = 3
) -> str:
    """Return the reasons of a row in one line: its largest contributions, each with its
    points and share of the score ("2,310 people within 5 km (decayed): 2,310 pts (61%)")."""
    parts = sorted(
        ((c, float(p)) for c, p in row["contributions"].items() if p > 0),
        key=lambda cp: (-cp[1], COMPONENTS.index(cp[0])),
    )[:most]
    if not parts:
        return "nothing near it scores: no people, buildings, roads, farmland or evidence"
    total = row["score"] or 1.0
    # a reason under 1% of the score says little; the first one is always given
    parts = parts[:1] + [(c, p) for c, p in parts[1:] if p >= 0.01 * total]
    return "; ".join(
        f"{_phrase(c, row['components'][c], config, status)}: {p:,.0f} pts ({p / total:.0%})"
        for c, p in parts
    )


def top_with_reasons(reg: Registry, ranking: Ranking, n: int = 10) -> list[dict[str, Any]]:
    """Return the first `n` rows of a ranking with the area's name and status and its
    reasons in one line."""
    top = ranking.rows[:n]
    refs = [r["ref"] for r in top]
    cols = reg.record_columns(
        HAZARDS.name, columns=["ref", "name", "status"], where={"ref": refs}, geometry=False
    )
    about = {
        r: (name, status)
        for r, name, status in zip(cols["ref"], cols["name"], cols["status"], strict=True)
    }
    out = []
    for r in top:
        name, status = about.get(r["ref"], (None, None))
        out.append(
            {
                "rank": r["rank"],
                "ref": r["ref"],
                "name": name,
                "status": status,
                "score": r["score"],
                "reasons": reasons(r, ranking.config, status=status),
            }
        )
    return out


__all__ = ["reasons", "top_with_reasons"]
