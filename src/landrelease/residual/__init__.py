"""The residual-hazard model: how many "non-persistent" devices may still be live, and when.

Pure: imports numpy, scipy, the standard library and `landrelease.domain` only; opens no
database. An estimate gives two ranges, named apart: the range of the expected count (the
doubt about the figures) and the range of the actual number live (which devices survive).
"""

from landrelease.residual.model import (
    EventArrays,
    events_to_arrays,
    expected_live,
    remaining_events,
    survival,
    survival_floor,
    update_with_finds,
)
from landrelease.residual.montecarlo import (
    BatchEstimate,
    Estimate,
    Timeline,
    estimate,
    estimate_batch,
    timeline,
)
from landrelease.residual.profiles import DeviceProfile, Fraction, get_profile, load_profiles

__all__ = [
    "BatchEstimate",
    "DeviceProfile",
    "Estimate",
    "EventArrays",
    "Fraction",
    "Timeline",
    "estimate",
    "estimate_batch",
    "events_to_arrays",
    "expected_live",
    "get_profile",
    "load_profiles",
    "remaining_events",
    "survival",
    "survival_floor",
    "timeline",
    "update_with_finds",
]
