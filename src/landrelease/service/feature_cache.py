"""Encoded GeoJSON features, kept per process so that a page of features is joined, not built.

A record's feature (`{"type":"Feature","id":ref,"geometry":...,"properties":...}`) depends
only on the record's row, and every change of a row makes a new version (landrelease's writes,
and the database's triggers for QGIS, GDAL or any SQL client). So the bytes of a feature are
kept under (kind, ref, version): a page reads the refs and versions of its rows, joins the
bytes it has, and encodes only the rows it lacks, in one vectorised batch. A changed record
is asked for under its new version, so a page is as current as the read that listed it.

Memory is bounded: past `max_bytes`, the features no page asked for lately go first.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import shapely

from landrelease.domain.records import RecordKind
from landrelease.records_json import records_json
from landrelease.store import Columns

# The columns of a record that its feature shows: its fields, then who changed it last, when.
STAMP = ("changed_at", "changed_by")

_ENTRY_OVERHEAD = 120  # bytes of the dictionary entry and key beside a feature's own


def feature_columns(kind: RecordKind) -> list[str]:
    """Return the columns to read for a kind's features (fields and stamp; geometry apart)."""
    return [*kind.field_names, *STAMP]


def encode_features(kind: RecordKind, cols: Columns) -> list[bytes]:
    """Return the GeoJSON Feature of each record of `cols` (as the store reads them, with
    "geometry"), encoded: `id` is the ref, `properties` the fields and the change stamp.

    One vectorised call writes every geometry; the properties go through `records_json`,
    the serializer of every record of landrelease.
    """
    props = records_json(kind, cols, geometry=False)
    n = len(props)
    if not n:
        return []
    geoms = cols.get("geometry")
    if geoms is None:
        texts: list[Any] = [None] * n
    else:
        texts = shapely.to_geojson(np.asarray(geoms, dtype=object)).tolist()
    out = []
    for p, g in zip(props, texts, strict=True):
        geometry = b"null" if g is None else g.encode()
        out.append(
            b'{"type":"Feature","id":'
            + orjson.dumps(p.get("ref"))
            + b',"geometry":'
            + geometry
            + b',"properties":'
            + orjson.dumps(p)
            + b"}"
        )
    return out


class FeatureCache:
    """Encoded features by (kind, ref, version) in at most about `max_bytes`.

    Two generations: features are kept in the young one; when it holds half the bound, it
    becomes the old one and the old one is dropped. A feature asked for while old moves back
    to the young one, so what pages keep asking for stays and what they stopped asking for
    goes: the least recently used first, without bookkeeping on every hit. Safe to share
    between the threads of one process.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._young: dict[str, dict[tuple[str, int], bytes]] = {}
        self._old: dict[str, dict[tuple[str, int], bytes]] = {}
        self._young_bytes = 0
        self._old_bytes = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Return the bytes held (features and an estimate of their entries)."""
        return self._young_bytes + self._old_bytes

    def __len__(self) -> int:
        return sum(len(d) for d in self._young.values()) + sum(len(d) for d in self._old.values())

    def lookup(
        self, kind: str, refs: Sequence[str], versions: Sequence[int]
    ) -> tuple[list[bytes | None], list[int]]:
        """Return the features known of each (ref, version) (None where not) and the
        positions of those not known."""
        keys = list(zip(refs, versions, strict=True))
        young = self._young.get(kind) or {}
        found: list[bytes | None] = list(map(young.get, keys))
        missing: list[int] = []
        if None in found:
            with self._lock:
                young = self._young.setdefault(kind, {})
                old = self._old.get(kind) or {}
                for i, blob in enumerate(found):
                    if blob is not None:
                        continue
                    blob = old.pop(keys[i], None)
                    if blob is None:
                        missing.append(i)
                        continue
                    found[i] = young[keys[i]] = blob  # used again: young again
                    size = len(blob) + _ENTRY_OVERHEAD
                    self._old_bytes -= size
                    self._young_bytes += size
                self._age()
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        return found, missing

    def store(
        self, kind: str, refs: Sequence[str], versions: Sequence[int], blobs: Sequence[bytes]
    ) -> None:
        """Keep the features of these (ref, version)."""
        with self._lock:
            young = self._young.setdefault(kind, {})
            for ref, version, blob in zip(refs, versions, blobs, strict=True):
                old = young.get((ref, version))
                if old is not None:
                    self._young_bytes -= len(old) + _ENTRY_OVERHEAD
                young[(ref, version)] = blob
                self._young_bytes += len(blob) + _ENTRY_OVERHEAD
            self._age()

    def _age(self) -> None:
        """Make the young generation the old one once it holds half the bound."""
        if self._young_bytes > self.max_bytes // 2:
            self._old, self._young = self._young, {}
            self._old_bytes, self._young_bytes = self._young_bytes, 0

    def clear(self) -> None:
        """Forget every feature."""
        with self._lock:
            self._young, self._old = {}, {}
            self._young_bytes = self._old_bytes = 0


__all__ = ["STAMP", "FeatureCache", "encode_features", "feature_columns"]
