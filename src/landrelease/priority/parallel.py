"""The components computed over partitions of the areas on a dask cluster (dask-geopandas).

For registries that outgrow one machine: the areas are put in Hilbert-curve order (so that a
partition covers a compact stretch of land), split into the partitions of a dask-geopandas
frame, and each partition projects its areas and measures their components against the
reference features near it. The reference layers are projected once, here, and shared with every
worker. The values are identical to `compute_components`: each area's pairs are summed in
the same order.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from landrelease.domain.geometry import Country, equal_area
from landrelease.priority import components as comp
from landrelease.priority.config import COMPONENTS, PriorityConfig
from landrelease.priority.inputs import AreaInputs, Inputs
from landrelease.priority.measure import AreaShapes

_PER_WORKER = 4  # partitions per worker: some balance when one region is denser


def compute_components_partitioned(
    inputs: Inputs,
    config: PriorityConfig,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    partitions: int | None = None,
) -> dict[str, np.ndarray]:
    """Return the same arrays as `compute_components`, computed partition by partition.

    `scheduler`: the address of a running dask scheduler ("tcp://host:8786") to use; else a
    local cluster of `workers` processes (default: one per CPU) is started and stopped.
    `partitions`: how many (default: 4 per worker, at most one per area).
    """
    import dask.dataframe as dd
    import dask_geopandas
    import geopandas as gpd
    import pandas as pd
    from distributed import Client, LocalCluster

    n = len(inputs.areas)
    if n == 0:
        return {c: np.zeros(0) for c in COMPONENTS}
    prepared = comp.prepare(inputs, config, equal_area(inputs.country))

    frame = gpd.GeoDataFrame(
        {
            "row": np.arange(n),
            "ref": np.asarray(inputs.areas.ref, dtype=object),
            "status": np.asarray(inputs.areas.status, dtype=object),
            "items_found": np.asarray(inputs.areas.items_found, dtype=np.int64),
            "residual_expected": np.asarray(inputs.areas.residual_expected, dtype=float),
        },
        geometry=gpd.GeoSeries(np.asarray(inputs.areas.geometry, dtype=object), crs=4326),
    )
    frame = frame.iloc[_hilbert_order(frame.geometry)]

    cluster = None
    if scheduler is None:
        count = workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=count,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
        count = max(1, len(client.scheduler_info().get("workers", {})))
    try:
        parts = min(partitions or count * _PER_WORKER, n)
        # The data goes to the workers once, by scatter, not inside the task graph: the
        # reference layers to every worker, each partition of the areas to one.
        pieces = [frame.iloc[rows] for rows in np.array_split(np.arange(n), parts)]
        frames = dd.from_delayed(client.scatter(pieces), meta=frame.iloc[:0])
        assert isinstance(frames, dask_geopandas.GeoDataFrame)
        shared = client.scatter(prepared, broadcast=True)
        meta = pd.DataFrame({"row": pd.Series(dtype=np.int64)})
        for c in COMPONENTS:
            meta[c] = pd.Series(dtype=float)
        result = frames.map_partitions(_partition, shared, config, inputs.country, meta=meta)
        done = client.compute(result).result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    rows = done["row"].to_numpy()
    out = {}
    for c in COMPONENTS:
        values = np.zeros(n)
        values[rows] = done[c].to_numpy(dtype=float)
        out[c] = values
    return out


def _hilbert_order(geoms: Any) -> np.ndarray:
    """Return the order of the areas along a Hilbert curve (missing geometries last)."""
    present = np.flatnonzero(~(geoms.isna().to_numpy() | geoms.is_empty.to_numpy()))
    missing = np.setdiff1d(np.arange(len(geoms)), present)
    if not len(present):
        return missing
    distance = geoms.iloc[present].hilbert_distance().to_numpy()
    return np.concatenate([present[np.argsort(distance, kind="stable")], missing])


def _partition(
    frame: Any, prepared: comp.Prepared, config: PriorityConfig, country: Country
) -> Any:
    """Return the raw components of one partition's areas, with their rows (a DataFrame)."""
    import pandas as pd

    geoms = np.asarray(frame.geometry.array, dtype=object)
    facts = AreaInputs(
        ref=frame["ref"].to_numpy(dtype=object),
        geometry=geoms,
        status=frame["status"].to_numpy(dtype=object),
        items_found=frame["items_found"].to_numpy(dtype=np.int64),
        residual_expected=frame["residual_expected"].to_numpy(dtype=float),
    )
    areas = AreaShapes.of(geoms, equal_area(country))
    out = pd.DataFrame({"row": frame["row"].to_numpy(dtype=np.int64)}, index=frame.index)
    if len(areas):
        box = np.array(
            [
                np.nanmin(areas.bounds[:, 0]),
                np.nanmin(areas.bounds[:, 1]),
                np.nanmax(areas.bounds[:, 2]),
                np.nanmax(areas.bounds[:, 3]),
            ]
        )
        if np.isfinite(box).all():
            prepared = prepared.near(box, comp.margin(config))
    raw = comp.raw_values(areas, facts, prepared, config)
    for c in COMPONENTS:
        out[c] = raw[c]
    return out
