"""What items found in an area tell the model: updated fractions, how far they moved, and the
part of the area not yet cleared."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from landrelease.domain.records import ContaminationEvent, Item
from landrelease.residual.model import remaining_events, update_with_finds
from landrelease.residual.profiles import DeviceProfile, Fraction, load_profiles

Stage = Literal["dud", "self_destruct", "self_deactivate"]


@dataclass(frozen=True)
class StageShift:
    """How far an area's finds moved one stage's failure fraction of a profile.

    `before` and `after` are the fraction's point figure (median); `before_range` and
    `after_range` its 5th and 95th percentiles; `prior_strength` how many devices' worth of
    evidence the profile's figure counted as against the `live` + `inert` devices found.
    """

    profile_id: str
    stage: Stage
    live: int
    inert: int
    prior_strength: float
    before: float
    after: float
    before_range: tuple[float, float]
    after_range: tuple[float, float]

    @classmethod
    def of(cls, profile_id: str, stage: Stage, prior: Fraction, posterior: Fraction) -> StageShift:
        """Return the shift from `prior` to `posterior` (the same fraction after finds)."""
        return cls(
            profile_id=profile_id,
            stage=stage,
            live=posterior.found_live - prior.found_live,
            inert=posterior.found_inert - prior.found_inert,
            prior_strength=prior.prior_strength,
            before=prior.point,
            after=posterior.point,
            before_range=(float(prior.ppf(0.05)), float(prior.ppf(0.95))),
            after_range=(float(posterior.ppf(0.05)), float(posterior.ppf(0.95))),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the shift as plain data (for JSON)."""
        return {
            "profile_id": self.profile_id,
            "stage": self.stage,
            "live": self.live,
            "inert": self.inert,
            "prior_strength": self.prior_strength,
            "before": self.before,
            "after": self.after,
            "before_range": list(self.before_range),
            "after_range": list(self.after_range),
        }


@dataclass
class FindsAccount:
    """The events of the part of an area not yet cleared, the profiles updated by the finds
    (same ids: pass them to `estimate`), one `StageShift` per stage the finds updated, and one
    plain sentence per decision taken."""

    events: list[ContaminationEvent]
    profiles: dict[str, DeviceProfile]
    notes: list[str] = field(default_factory=list)
    shifts: list[StageShift] = field(default_factory=list)

    def update(self, profile: DeviceProfile, stage: Stage, live: int, inert: int) -> None:
        """Update `stage` of `profile` with finds, keeping the profile and the shift."""
        if live + inert == 0:  # nothing counted: nothing moves, and no shift to show
            return
        updated = update_with_finds(profile, live, inert, stage)
        self.profiles[profile.id] = updated
        prior, posterior = profile.fractions()[stage], updated.fractions()[stage]
        self.shifts.append(StageShift.of(profile.id, stage, prior, posterior))


def _count(items: Sequence[Item], state: str, after: dt.date | None = None) -> int:
    return sum(
        int(i.quantity or 0)
        for i in items
        if i.state == state and (after is None or (i.found_on is not None and i.found_on >= after))
    )


def account_for_finds(
    events: Sequence[ContaminationEvent],
    items: Sequence[Item],
    *,
    cleared_share: float = 0.0,
    profiles: Mapping[str, DeviceProfile] | None = None,
) -> FindsAccount:
    """Return the remaining events and the updated fractions that the area's finds support.

    - Self-deactivating profiles: intact devices of the profile's category found on or after
      the self-deactivation day (counted from the last emplacement date) are evidence on the
      fraction failing to self-deactivate: `live` ones failed, `inert` ones did not.
    - Dud profiles: with a cleared share q > 0, the q x N submunitions believed delivered into
      the cleared part held the live duds found there: k live of q x N.
    - Finds never inform a persistent profile, nor one with self-destruction only (a device that
      self-destructed leaves nothing to count). Items in state `destroyed` carry no evidence.
    Items are matched to profiles by category; with two profiles of one category in the same
    area, the finds cannot be split between them and are not used.
    """
    known = dict(profiles if profiles is not None else load_profiles())
    account = FindsAccount(events=remaining_events(events, cleared_share), profiles=known)
    notes = account.notes
    by_category: dict[str, list[str]] = {}
    for pid in sorted({e.profile_id for e in events if e.profile_id}):
        by_category.setdefault(known[pid].category, []).append(pid)
    for category, pids in by_category.items():
        found = [i for i in items if i.category == category]
        if not found:
            continue
        if len(pids) > 1:
            notes.append(
                f"{category} items found, but profiles {', '.join(pids)} share that category: "
                "the finds are not used to update either"
            )
            continue
        profile = known[pids[0]]
        own = [e for e in events if e.profile_id == profile.id]
        if profile.self_deactivate is not None:
            last = max((e.emplaced_until or e.emplaced_on) for e in own if e.emplaced_on)
            after = last + dt.timedelta(days=int(profile.self_deactivate.days))
            live, inert = _count(found, "live", after), _count(found, "inert", after)
            if live + inert:
                account.update(profile, "self_deactivate", live, inert)
                notes.append(
                    f"{profile.id}: {live} live and {inert} inert found on or after {after} "
                    "update the fraction failing to self-deactivate"
                )
            else:
                notes.append(
                    f"{profile.id}: no live or inert {category} found on or after {after} (the "
                    "self-deactivation day): the finds do not change its figures"
                )
        elif profile.dud is not None and cleared_share > 0:
            delivered = round(cleared_share * sum(e.quantity_best or 0 for e in own))
            live = _count(found, "live")
            inert = max(delivered - live, 0)
            account.update(profile, "dud", live, inert)
            notes.append(
                f"{profile.id}: {live} live duds found among about {delivered} delivered into the "
                f"cleared {cleared_share:.0%} update the dud fraction"
            )
        else:
            notes.append(
                f"{profile.id}: {category} finds do not inform this profile's figures"
                + ("" if profile.dud is None else " without the share of the area cleared")
            )
    if items and cleared_share == 0:
        notes.append(
            "items were found but the cleared share is 0: the counts of the whole area are used; "
            "give the share of the area already cleared or sampled"
        )
    elif cleared_share > 0:
        notes.append(f"counts reduced to the {1 - cleared_share:.0%} of the area not yet cleared")
    return account
