"""The partitioned computation on a dask cluster gives exactly the single-machine values."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pytest
from priority_cases import random_inputs

from landrelease.priority import (
    COMPONENTS,
    compute_components,
    compute_components_partitioned,
    load_config,
)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """Return the address of a two-worker cluster started once for this module (threads:
    worker processes take seconds to start; the partitions are shipped the same way)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address


@pytest.mark.parametrize("partitions", [2, 7])
def test_partitioned_values_are_identical(scheduler: str, partitions: int) -> None:
    inputs = random_inputs(11, n_areas=80)
    config = load_config("[roads]\nbuffer_m = 50\n")
    single = compute_components(inputs, config)
    split = compute_components_partitioned(
        inputs, config, scheduler=scheduler, partitions=partitions
    )
    assert list(split) == list(COMPONENTS)
    for c in COMPONENTS:
        assert np.array_equal(split[c], single[c]), c  # bit for bit, not approximately
    assert single["people"].any() and single["roads"].any()
