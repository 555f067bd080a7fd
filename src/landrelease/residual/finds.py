"""What items found in an area tell the model: Beta posteriors, and the part not yet cleared."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from landrelease.domain.records import ContaminationEvent, Item
from landrelease.residual.model import remaining_events, update_with_finds
from landrelease.residual.profiles import DeviceProfile, load_profiles


@dataclass
class FindsAccount:
    """The events of the part of an area not yet cleared, the profiles updated by the finds
    (same ids: pass them to `estimate`), and one plain sentence per decision taken."""

    events: list[ContaminationEvent]
    profiles: dict[str, DeviceProfile]
    notes: list[str] = field(default_factory=list)


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
    """Return the remaining events and the Beta posteriors that the area's finds support.

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
                known[profile.id] = update_with_finds(profile, live, inert, "self_deactivate")
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
            known[profile.id] = update_with_finds(profile, live, inert, "dud")
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
