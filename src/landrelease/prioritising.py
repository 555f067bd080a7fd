"""Prioritisation use cases: rank the open hazard areas, save a ranking, read and explain one.

A ranking is computed from everything the registry holds about the areas, read in one
snapshot (`ranking_inputs`): the hazard areas of the ranked statuses, their outlines, the
items found per area, the dated accidents, the residual model's estimate per area and the
reference layers. Its id is a hash of all that went into it (the configuration's canonical
form, each layer's content hash, a digest of the refs and versions of every hazard, event,
item and accident, the date it is computed as of, the engine version and the residual
model's profiles), so the same inputs give the same id, and a changed weight, layer or
record a new one.

A saved ranking is evidence of a decision: the store keeps it append-only, with its
configuration text, who saved it and when, what it was computed from and each area's rank,
score and components. The Registry methods `prioritize`, `rankings`, `ranking`,
`explain_priority` and `latest_ranks` call these.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from landrelease.caches import PerStore
from landrelease.domain.errors import ConflictError, InputFileError, NotFound, ValidationError
from landrelease.domain.records import HAZARDS
from landrelease.priority.config import COMPONENTS, PriorityConfig, load_config
from landrelease.ranking_inputs import (
    Progress,
    State,
    engine_inputs,
    missing_layers,
    ranking_id,
    read_areas,
    read_state,
    residual_expected,
    residual_profiles_sha256,
)
from landrelease.ranking_reasons import top_with_reasons
from landrelease.store import UnitOfWork, now_utc

if TYPE_CHECKING:
    import geopandas as gpd

    from landrelease.registry import Registry

OUT_SUFFIXES = (".csv", ".gpkg", ".geojson")
OUT_LAYER = "priority"  # the GeoPackage layer of --out
STATE_READS = 3  # snapshots tried before a registry that keeps changing is reported


@dataclass
class Ranking:
    """The hazard areas ranked: rows by rank (rank, ref, score, components {name: raw},
    contributions {name: weight x raw}), the id, the date it is as of, the configuration,
    the warnings (missing layers) and whether it is saved in the registry.

    `saved` is true once the registry holds it; `already_saved` when it held it before this
    run asked to save it (the same id is the same ranking). `inputs` says what it was computed
    from (kept with a saved ranking); `geometry` holds each row's outline (for files).
    """

    id: str
    as_of: dt.date
    config: PriorityConfig
    rows: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    saved: bool = False
    already_saved: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)
    geometry: np.ndarray | None = None

    def json_rows(self, top: int | None = None) -> list[dict[str, Any]]:
        """Return the first `top` rows (all: None) as `prioritize --json` prints them."""
        rows = self.rows if top is None else self.rows[:top]
        return [
            {
                "rank": r["rank"],
                "ref": r["ref"],
                "score": r["score"],
                "components": r["components"],
                "ranking_id": self.id,
            }
            for r in rows
        ]

    def frame(self, top: int | None = None) -> gpd.GeoDataFrame:
        """Return the rows as a GeoDataFrame (EPSG:4326): rank, ref, score, one column per
        component, ranking_id, as_of and each area's outline."""
        import geopandas as gpd
        import pandas as pd

        rows = self.rows if top is None else self.rows[:top]
        n = len(rows)
        data: dict[str, Any] = {
            "rank": np.array([r["rank"] for r in rows], dtype=np.int64),
            "ref": pd.array([r["ref"] for r in rows], dtype=object),
            "score": np.array([r["score"] for r in rows], dtype=np.float64),
        }
        for c in COMPONENTS:
            data[c] = np.array([r["components"][c] for r in rows], dtype=np.float64)
        data["ranking_id"] = pd.array([self.id] * n, dtype=object)
        data["as_of"] = pd.array([self.as_of] * n, dtype=object)
        geometry = np.full(n, None, dtype=object) if self.geometry is None else self.geometry[:n]
        return gpd.GeoDataFrame(pd.DataFrame(data), geometry=geometry, crs="EPSG:4326")


# -- ranking -----------------------------------------------------------------------------------


def prioritize(
    reg: Registry,
    *,
    config_text: str | None = None,
    as_of: dt.date | None = None,
    save: bool = False,
    actor: str,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> Ranking:
    """Rank the hazard areas of the configuration's statuses; see `Registry.prioritize`."""
    from landrelease.priority import compute_components, compute_components_partitioned, score

    step = progress or (lambda _s, _d, _t: None)
    if workers is not None and scheduler is not None:
        raise ValidationError(
            None, "scheduler", "give --workers (a local cluster) or --scheduler, not both"
        )
    if workers is not None and workers < 1:
        raise ValidationError(None, "workers", f"must be 1 or more, got {workers}")
    path = Path(out) if out is not None else None
    if path is not None:
        check_out(path, overwrite=overwrite)
    config = load_config(config_text)
    when = as_of or dt.date.today()
    statuses = list(config.values["ranking"]["statuses"])

    for _ in range(STATE_READS):
        step("reading the registry", 0, 1)
        with reg.store.unit_of_work() as uow:
            read = read_areas(uow, statuses)
        layers = reg.reference_layers()
        residual = residual_expected(reg, read, config, when, step)
        with reg.store.unit_of_work() as uow:
            if read_state(uow) == read.state:  # nothing changed between the reads
                break
    else:
        raise ConflictError(
            "the registry kept changing while its areas were read for ranking; run it again"
        )
    inputs = engine_inputs(reg, read, residual, layers, when)
    warnings = missing_layers(layers)
    if workers is not None or scheduler is not None:
        step("components on the cluster", 0, 1)
        components = compute_components_partitioned(
            inputs, config, workers=workers, scheduler=scheduler
        )
    else:
        done: list[str] = []

        def measured(name: str) -> None:
            done.append(name)
            step(f"components: {name}", len(done), len(COMPONENTS))

        step("components", 0, len(COMPONENTS))
        components = compute_components(inputs, config, progress=measured)
    step("scoring", 0, 1)
    scored = score(read.refs, components, config)
    order = np.argsort(scored.rank, kind="stable")
    rows = _rows(
        read.refs[order], scored.rank[order], scored.score[order], components, order, config
    )
    rid = ranking_id(config, read.state, when, reg.country.code)
    ranking = Ranking(
        id=rid,
        as_of=when,
        config=config,
        rows=rows,
        warnings=warnings,
        inputs=_described(read.state, reg.country.code, config, warnings),
        geometry=read.geometry[order],
    )
    if save:
        step("saving", 0, 1)
        _save(reg, ranking, read.state, actor)
    if path is not None:
        step("writing", 0, 1)
        from landrelease.io import write_features

        write_features(ranking.frame(), path, layer=OUT_LAYER, overwrite=overwrite)
    return ranking


def _rows(
    refs: np.ndarray,
    ranks: np.ndarray,
    scores: np.ndarray,
    components: dict[str, np.ndarray],
    order: np.ndarray,
    config: PriorityConfig,
) -> list[dict[str, Any]]:
    """Return the rows by rank (lists per column, zipped: no numpy scalar per value)."""
    raw = {c: np.asarray(components[c], dtype=np.float64)[order].tolist() for c in COMPONENTS}
    weights = {c: config.weight(c) for c in COMPONENTS}
    return [
        _row(int(rank), str(ref), float(s), {c: raw[c][i] for c in COMPONENTS}, weights)
        for i, (ref, rank, s) in enumerate(
            zip(refs.tolist(), ranks.tolist(), scores.tolist(), strict=True)
        )
    ]


def _row(
    rank: int, ref: str, score: float, components: dict[str, float], weights: dict[str, float]
) -> dict[str, Any]:
    contributions = {c: weights[c] * components[c] for c in COMPONENTS}
    return {
        "rank": rank,
        "ref": ref,
        "score": score,
        "components": components,
        "contributions": contributions,
    }


def _described(
    state: State, country: str, config: PriorityConfig, warnings: list[str]
) -> dict[str, Any]:
    """Return what a ranking was computed from (kept with it as JSON)."""
    from landrelease import __version__
    from landrelease.priority import ENGINE_VERSION

    return {
        "engine": ENGINE_VERSION,
        "landrelease": __version__,
        "country": country,
        "registry": state.registry,
        "records": state.records,
        "layers": [
            {"name": n, "kind": k, "features": f, "content_sha256": sha, "source": src}
            for n, k, f, sha, src in state.layers
        ],
        "residual_profiles_sha256": residual_profiles_sha256(),
        "config_sha256": hashlib.sha256(config.canonical().encode()).hexdigest(),
        "warnings": warnings,
    }


def _save(reg: Registry, ranking: Ranking, state: State, actor: str) -> None:
    """Save a ranking unless one with its id is saved; refuse if the registry changed."""
    with reg.store.unit_of_work(write=True, note=f"a ranking saved by {actor}") as uow:
        if read_state(uow) != state:
            raise ConflictError(
                "the registry changed while the ranking was computed, so it no longer "
                "describes the registry; run it again to save it"
            )
        new = uow.rankings.add(
            {
                "id": ranking.id,
                "created_at": now_utc(),
                "created_by": actor,
                "as_of": ranking.as_of,
                "config": ranking.config.text,
                "inputs": ranking.inputs,
                "areas": len(ranking.rows),
            },
            [
                {
                    "rank": r["rank"],
                    "ref": r["ref"],
                    "score": r["score"],
                    "components": r["components"],
                }
                for r in ranking.rows
            ],
        )
    ranking.saved = True
    ranking.already_saved = not new


def check_out(path: Path, *, overwrite: bool) -> None:
    """Raise a ValidationError naming `out` unless a ranking may be written at `path`."""
    from landrelease.io import check_output

    try:
        check_output(
            path,
            suffixes=OUT_SUFFIXES,
            wrong_suffix=f"write the ranking as {', '.join(OUT_SUFFIXES)} (rank, ref, score, "
            "the components and each area's outline)",
            overwrite=overwrite,
        )
    except InputFileError as exc:
        raise ValidationError(None, "out", str(exc)) from None


# -- saved rankings ----------------------------------------------------------------------------


def rankings(reg: Registry) -> list[dict[str, Any]]:
    """Return every saved ranking, the oldest first: id, created_at, created_by, as_of,
    areas, config (text) and inputs."""
    with reg.store.unit_of_work() as uow:
        return uow.rankings.all()


def ranking(
    reg: Registry, ranking_id: str | None = None, *, limit: int | None = None, offset: int = 0
) -> dict[str, Any]:
    """Return a saved ranking (None: the latest) with its rows by rank (`limit` from
    `offset`), each with contributions (weight x raw under its configuration)."""
    with reg.store.unit_of_work() as uow:
        saved = _saved(uow, ranking_id)
        areas = uow.rankings.areas(saved["id"])
    config = load_config(saved["config"])
    weights = {c: config.weight(c) for c in COMPONENTS}
    end = None if limit is None else offset + limit
    rows = [
        _row(
            a["rank"],
            a["ref"],
            a["score"],
            {c: a["components"].get(c, 0.0) for c in COMPONENTS},
            weights,
        )
        for a in areas[offset:end]
    ]
    return {**saved, "rows": rows, "offset": offset, "limit": limit}


def _saved(uow: UnitOfWork, ranking_id: str | None) -> dict[str, Any]:
    if ranking_id is None:
        saved = uow.rankings.latest()
        if saved is None:
            raise NotFound("no ranking is saved yet; save one with 'landrelease prioritize --save'")
        return saved
    saved = uow.rankings.get(ranking_id)
    if saved is None:
        raise NotFound(
            f"{ranking_id}: no saved ranking with this id; 'landrelease priority history' "
            "lists them"
        )
    return saved


# The ranks of the latest saved ranking, kept per store under its id (a saved ranking never
# changes): the map's tiles ask for them with every tile.
_ranks: PerStore[dict[str, dict[str, int]]] = PerStore(dict)


def latest_ranks(reg: Registry) -> tuple[str | None, dict[str, int]]:
    """Return the id of the latest saved ranking and {ref: rank} of it ((None, {}) if none)."""
    with reg.store.unit_of_work() as uow:
        latest = uow.rankings.latest()
        if latest is None:
            return None, {}
        kept = _ranks.of(reg.store)
        ranks = kept.get(latest["id"])
        if ranks is None:
            ranks = {a["ref"]: int(a["rank"]) for a in uow.rankings.areas(latest["id"])}
            kept.clear()  # only the latest is asked for
            kept[latest["id"]] = ranks
    return latest["id"], ranks


# -- explaining --------------------------------------------------------------------------------


def explain(reg: Registry, ref: str, ranking_id: str | None = None) -> dict[str, Any]:
    """Return how area `ref` got its score in a saved ranking (None: the latest); see
    `Registry.explain_priority`."""
    from landrelease.priority import explain as explain_lines

    with reg.store.unit_of_work() as uow:
        saved = _saved(uow, ranking_id)
        row = next((a for a in uow.rankings.areas(saved["id"]) if a["ref"] == ref), None)
        if row is None:
            uow.records(HAZARDS).get(ref)  # NotFound for no such area
            raise NotFound(
                f"{ref}: not in ranking {saved['id']} (it ranks the areas of the statuses "
                "its configuration names, as they were when it was computed)"
            )
        read = read_areas(uow, [], only=ref)
    config = load_config(saved["config"])
    as_of = dt.date.fromisoformat(str(saved["as_of"]))
    raw = {c: np.array([float(row["components"].get(c, 0.0))]) for c in COMPONENTS}
    # the residual as saved; NaN where the area has no events, so that the line says why
    residual = np.where(read.with_events, raw["residual"], np.nan)
    inputs = engine_inputs(reg, read, residual, reg.reference_layers(), as_of)
    current = ranking_id_now(reg, config, as_of) == saved["id"]
    lines = explain_lines(0, inputs, raw, config)
    return {
        "ranking_id": saved["id"],
        "ref": ref,
        "rank": row["rank"],
        "score": row["score"],
        "as_of": as_of.isoformat(),
        "areas": saved["areas"],
        "created_at": saved["created_at"],
        "created_by": saved["created_by"],
        "detail_current": current,
        "note": None
        if current
        else "the registry or its layers changed since this ranking was saved: the raw values "
        "and points are the ranking's, the detail in 'how' is measured on today's data",
        "lines": [
            {
                "component": ln.component,
                "raw": ln.raw,
                "unit": ln.unit,
                "weight": ln.weight,
                "contribution": ln.contribution,
                "how": ln.how,
            }
            for ln in lines
        ],
    }


def ranking_id_now(reg: Registry, config: PriorityConfig, as_of: dt.date) -> str:
    """Return the id a ranking with `config` as of `as_of` would have on today's registry."""
    with reg.store.unit_of_work() as uow:
        state = read_state(uow)
    return ranking_id(config, state, as_of, reg.country.code)


def rank_for_demo(reg: Registry, *, actor: str, n: int = 10) -> dict[str, Any]:
    """Rank the open areas with the default configuration, save the ranking and return its
    id, date, size, warnings and first `n` rows with reasons (`top_with_reasons`)."""
    ranked = prioritize(reg, save=True, actor=actor)
    return {
        "ranking_id": ranked.id,
        "as_of": ranked.as_of.isoformat(),
        "areas": len(ranked.rows),
        "warnings": ranked.warnings,
        "top": top_with_reasons(reg, ranked, n),
    }


__all__ = [
    "OUT_SUFFIXES",
    "Ranking",
    "check_out",
    "explain",
    "latest_ranks",
    "prioritize",
    "rank_for_demo",
    "ranking",
    "ranking_id_now",
    "rankings",
]
