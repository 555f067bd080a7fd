"""Polygon rings that do not end where they start: found in WKB or WKT, and named for messages.

GDAL hands such a ring over as the file holds it (a GeoJSON ring whose last position differs
from its first, a WKT cell missing its closing position) and GEOS refuses to build it. These
functions run only on the rows GEOS refused, to say which ring of which polygon is open, and
whether repeating its first position would close it: not if that position, or the last, is
not a number (NaN or infinite), which GEOS sees as an open ring too.
"""

from __future__ import annotations

import math
import re
import struct
from typing import NamedTuple

_POINT, _LINESTRING, _POLYGON = 1, 2, 3
_COLLECTIONS = (4, 5, 6, 7)  # multipoint, multilinestring, multipolygon, geometry collection
_EWKB_Z, _EWKB_M, _EWKB_SRID = 0x80000000, 0x40000000, 0x20000000
_WKT_POLYGON = re.compile(r"^\s*(?:SRID=\d+;)?\s*(MULTI)?POLYGON\b", re.IGNORECASE)

Ring = tuple[int, int, bool]  # (polygon, ring), both 1-based, and whether its ends are numbers


class OpenRings(NamedTuple):
    """The open rings of one geometry, named ("polygon ring 1"), by whether closing mends them."""

    closable: list[str]
    not_numbers: list[str]  # rings starting or ending at a NaN or infinite position

    @property
    def mendable(self) -> bool:
        """Whether closing the open rings makes the geometry readable (as far as they go)."""
        return bool(self.closable) and not self.not_numbers

    def refusal(self, more_rows: int = 0) -> str | None:
        """Return what to say of a row with these rings; None if it has none."""
        if self.not_numbers:
            return (
                f"{self.not_numbers[0]} starts or ends at a position that is not a number "
                "(NaN or infinite); correct it in the source file"
            )
        return not_closed_message(self.closable, more_rows) if self.closable else None


def _open_rings(found: list[Ring], multipart: bool) -> OpenRings:
    """Return the rings `found` as OpenRings."""
    return OpenRings(
        [ring_name(p, r, multipart) for p, r, finite in found if finite],
        [ring_name(p, r, multipart) for p, r, finite in found if not finite],
    )


def not_closed_message(names: list[str], more_rows: int = 0) -> str:
    """Return the message for a row whose rings `names` ("polygon ring 1", ...) are open.

    `more_rows` counts the other rows with open rings, mentioned so that one fix is not
    followed by the next refusal.
    """
    also = [f"{len(names) - 1} more ring(s) of this row"] if len(names) > 1 else []
    also += [f"{more_rows} more row(s)"] if more_rows else []
    return (
        f"{names[0]} is not closed (its last position differs from its first)"
        + (f" (also open: {', '.join(also)}); close them" if also else "; close it")
        + ", or import with --repair"
    )


def closed_message(names: list[str]) -> str:
    """Return the note for a row whose open rings `names` --repair closed."""
    which = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    verb = "was" if len(names) == 1 else "were"
    return f"repaired: {which} {verb} not closed; closed by repeating the first position"


def ring_name(polygon: int, ring: int, multipart: bool) -> str:
    """Return "polygon ring 2", or "ring 2 of polygon 3" for a part of a multipolygon."""
    return f"ring {ring} of polygon {polygon}" if multipart else f"polygon ring {ring}"


def unclosed_rings_in_wkb(wkb: bytes) -> OpenRings:
    """Return the open rings of the geometry in `wkb`, in order (often none).

    Reads ISO and extended WKB (Z, M, SRID); finds none in bytes it cannot walk.
    """
    found: list[Ring] = []
    try:
        kind = _walk(memoryview(wkb), 0, found, [0])[1]
    except (struct.error, ValueError, IndexError):
        return OpenRings([], [])
    return _open_rings(found, kind != _POLYGON)


def _walk(data: memoryview, offset: int, found: list[Ring], polygons: list[int]) -> tuple[int, int]:
    """Walk one geometry at `offset`, noting open rings in `found`; return (end, type)."""
    order = "<" if data[offset] == 1 else ">"
    (code,) = struct.unpack_from(order + "I", data, offset + 1)
    offset += 5
    if code & _EWKB_SRID:
        offset += 4
    dims = 2 + bool(code & _EWKB_Z) + bool(code & _EWKB_M)
    code &= 0x0FFFFFFF
    kind, variant = code % 1000, code // 1000  # ISO: 1000 Z, 2000 M, 3000 ZM
    dims += (0, 1, 1, 2)[variant]
    step = 8 * dims
    if kind == _POINT:
        return offset + step, kind
    (count,) = struct.unpack_from(order + "I", data, offset)
    offset += 4
    if kind == _LINESTRING:
        return offset + count * step, kind
    if kind == _POLYGON:
        polygons[0] += 1
        for ring in range(1, count + 1):
            (points,) = struct.unpack_from(order + "I", data, offset)
            offset += 4
            end = offset + points * step
            if points:
                first = struct.unpack_from(order + "2d", data, offset)
                last = struct.unpack_from(order + "2d", data, end - step)
                if first != last:
                    found.append((polygons[0], ring, all(map(math.isfinite, first + last))))
            offset = end
        return offset, kind
    if kind in _COLLECTIONS:
        for _ in range(count):
            offset = _walk(data, offset, found, polygons)[0]
        return offset, kind
    raise ValueError(f"WKB geometry type {code} is not walked")


def unclosed_rings_in_wkt(text: str) -> OpenRings:
    """Return the open rings of a POLYGON or MULTIPOLYGON written as WKT, in order."""
    match = _WKT_POLYGON.match(text)
    if match is None:
        return OpenRings([], [])
    multipart = match.group(1) is not None
    ring_depth = 3 if multipart else 2
    found: list[Ring] = []
    depth = polygon = ring = start = 0
    for i in range(match.end(), len(text)):
        char = text[i]
        if char == "(":
            depth += 1
            if depth == ring_depth - 1:
                polygon, ring = polygon + 1, 0
            elif depth == ring_depth:
                ring, start = ring + 1, i + 1
        elif char == ")":
            if depth == ring_depth:
                ends = _wkt_ring_ends(text[start:i])
                if ends is not None and ends[0] != ends[1]:
                    found.append((polygon, ring, all(map(math.isfinite, ends[0] + ends[1]))))
            depth -= 1
    return _open_rings(found, multipart)


def _wkt_ring_ends(positions: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """Return the first and last (x, y) of WKT positions "x y, x y, ..."; None if not numbers."""
    parts = positions.split(",")
    try:
        first, last = (tuple(float(v) for v in parts[i].split()[:2]) for i in (0, -1))
    except ValueError:
        return None  # another fault, reported as such
    return (first, last) if len(first) == len(last) == 2 else None
