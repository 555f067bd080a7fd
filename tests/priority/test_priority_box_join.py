"""The bulk joins of `priority.measure` against plain all-pairs computations (synthetic data):
the box join with fewer points than boxes (the points go into the grid), and distance bands
that trust their bounds only clear of the band edges."""

from __future__ import annotations

import numpy as np
import shapely
import shapely.affinity

from landrelease.priority.measure import AreaShapes, box_pairs, outline_distance, points_in_bands


def _pairs(i: np.ndarray, j: np.ndarray) -> list[tuple[int, int]]:
    return sorted(zip(i.tolist(), j.tolist(), strict=True))


def test_fewer_points_than_boxes_finds_every_point_in_every_box_once() -> None:
    rng = np.random.default_rng(11)
    lo = rng.uniform(0, 1000, (400, 2))
    boxes = np.column_stack([lo, lo + rng.uniform(0, 120, (400, 2))])
    boxes[3] = np.nan  # a missing area meets nothing
    points = rng.uniform(-50, 1100, (150, 2))
    points[:20] = boxes[20:40, :2]  # on a lower-left corner
    points[20:40] = boxes[40:60, 2:]  # on an upper-right corner
    points[40:50, 0] = boxes[60:70, 2]  # on a right edge
    points[40:50, 1] = (boxes[60:70, 1] + boxes[60:70, 3]) / 2
    points[50] = np.nan  # a missing point meets nothing
    i, j = box_pairs(boxes, points)
    inside = (boxes[:, None, 0] <= points[None, :, 0]) & (points[None, :, 0] <= boxes[:, None, 2])
    inside &= (boxes[:, None, 1] <= points[None, :, 1]) & (points[None, :, 1] <= boxes[:, None, 3])
    assert len(i) == len(set(_pairs(i, j)))
    assert _pairs(i, j) == _pairs(*np.nonzero(inside))
    assert inside[:, 40:50].any(axis=0).all()  # the edge points are in the expected pairs


def test_distance_bands_are_those_of_the_measured_distance_even_on_a_band_edge() -> None:
    # Squares and rotated squares in metres; points exactly on the band edges (10 m and 50 m
    # from an edge or a vertex), inside, on the outline and beyond the last band.
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 5000, (60, 2))
    squares = shapely.buffer(shapely.points(centres), 20.0, cap_style="square")
    turned = [shapely.affinity.rotate(s, 30.0) if k % 2 else s for k, s in enumerate(squares)]
    areas = AreaShapes.of_metric(np.array(turned, dtype=object))
    bands = np.array([0.0, 10.0, 50.0])
    x0, y0, x1, y1 = areas.bounds.T
    px = np.concatenate(
        [x1 + 10.0, x1 + 50.0, x0 - 10.0, (x0 + x1) / 2, x1, x1 + 60.0, rng.uniform(0, 5000, 500)]
    )
    py = np.concatenate(
        [(y0 + y1) / 2, y1, (y0 + y1) / 2, (y0 + y1) / 2, y1, y0, rng.uniform(0, 5000, 500)]
    )
    a, p, band = points_in_bands(areas, px, py, bands)
    assert np.all(np.diff(a * len(px) + p) > 0)  # sorted by area then point, each once
    every_a, every_p = np.divmod(np.arange(len(areas) * len(px)), len(px))
    d = outline_distance(areas, every_a, px[every_p], py[every_p])
    expected = np.searchsorted(bands, d, "left")
    keep = expected < len(bands)
    assert _pairs(a, p) == _pairs(every_a[keep], every_p[keep])
    got = dict(zip(zip(a.tolist(), p.tolist(), strict=True), band.tolist(), strict=True))
    for k in np.flatnonzero(keep):
        assert got[(int(every_a[k]), int(every_p[k]))] == expected[k]
    assert set(band.tolist()) == {0, 1, 2}
