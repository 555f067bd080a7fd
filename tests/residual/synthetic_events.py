"""Synthetic contamination events as model arrays, shared by the residual model's tests."""

from __future__ import annotations

import datetime as dt

import numpy as np

from landrelease.residual import EventArrays, load_profiles


def random_event_arrays(
    n_areas: int, day0: dt.date, *, seed: int = 0, max_count: int = 50
) -> EventArrays:
    """Return about two events per area of every profile: random counts with a range,
    emplacement windows of up to 30 days starting within 100 days of `day0` (synthetic)."""
    rng = np.random.default_rng(seed)
    profiles = tuple(load_profiles().values())
    area = np.sort(rng.integers(0, n_areas, 2 * n_areas))
    best = rng.integers(0, max_count, len(area)).astype(float)
    start = day0.toordinal() + rng.integers(0, 100, len(area)).astype(float)
    return EventArrays(
        area=area,
        profile=rng.integers(0, len(profiles), len(area)),
        count_low=np.floor(best / 2),
        count_best=best,
        count_high=best * 2,
        start_day=start,
        end_day=start + rng.integers(0, 30, len(area)),
        profiles=profiles,
        n_areas=n_areas,
    )
