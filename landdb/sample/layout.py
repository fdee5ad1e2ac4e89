"""Where things lie in the fictitious county (working CRS EPSG:4547, metres)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPoint, Polygon, box

from .names import COUNTY_CODE, TOWNSHIPS

AS_OF = date(2026, 6, 30)  # the reference date all planted cases are written for
WORKING_EPSG = 4547  # CGCS2000 3° GK CM 114°E, no zone prefix
PREFIXED_EPSG = 4526  # CGCS2000 3° GK zone 38, eastings with the zone prefix
GEOGRAPHIC_EPSG = 4490
ZONE = 38
ZONE_OFFSET = ZONE * 1_000_000.0
CENTER_LONLAT = (114.7, 32.3)

CELL = 240.0  # background grid cell (m); a block is the cell less a road margin
ROAD = 12.0
SITE_DX, SITE_DY, SITE_COLS = 700.0, 600.0, 6
STOCK_EVERY = 9  # every 9th background cell is old construction land (存量)


def round_mm(geom):
    """Coordinates rounded to the millimetre (so every file holds the same numbers)."""
    return shapely.transform(geom, lambda c: np.round(c, 3))


@dataclass
class Township:
    code: str
    name: str
    seed: tuple[float, float]
    geom: Polygon | None = None


class Layout:
    """County centre, background grid, planted sites, admin areas and the development zone."""

    def __init__(self, n_background: int, n_sites: int, rng: np.random.Generator) -> None:
        to_gk = Transformer.from_crs(GEOGRAPHIC_EPSG, WORKING_EPSG, always_xy=True)
        x, y = to_gk.transform(*CENTER_LONLAT)
        self.cx, self.cy = round(x, -2), round(y, -2)
        self.n_cells = n_background + n_background // (STOCK_EVERY - 1) + 1
        self.ncol = max(4, math.ceil(math.sqrt(self.n_cells)))
        self.nrow = math.ceil(self.n_cells / self.ncol)
        # background grid: north-east corner just west of the centre, growing west and south
        self.grid_x1 = self.cx + 500.0 + round(float(rng.uniform(0, 1)), 3)
        self.grid_y1 = self.cy + 2500.0 + round(float(rng.uniform(0, 1)), 3)
        self.grid_x0 = self.grid_x1 - self.ncol * CELL
        self.grid_y0 = self.grid_y1 - self.nrow * CELL
        # planted sites: east of the centre, inside the development zone
        self.site_x0 = self.cx + 1200.0
        self.site_y1 = self.cy + 2000.0
        self.n_sites = n_sites
        rows = math.ceil(n_sites / SITE_COLS)
        self.sites_box = box(self.site_x0, self.site_y1 - rows * SITE_DY,
                             self.site_x0 + SITE_COLS * SITE_DX, self.site_y1)
        self.county = self._county(rng)
        self.townships = self._townships(rng)
        self.dev_zone = self._dev_zone()

    # -- grids ------------------------------------------------------------------------------
    def cell_box(self, k: int) -> tuple[float, float, float, float]:
        """Block of background cell k (row-major from the north-east, going west)."""
        r, c = divmod(k, self.ncol)
        x1 = self.grid_x1 - c * CELL
        y1 = self.grid_y1 - r * CELL
        return (x1 - CELL + ROAD, y1 - CELL + ROAD, x1 - ROAD, y1 - ROAD)

    def site_origin(self, i: int) -> tuple[float, float]:
        """Lower-left corner of planted site i (with a millimetre fraction, like real data)."""
        r, c = divmod(i, SITE_COLS)
        fx, fy = round((i * 0.6180339) % 1, 3), round((i * 0.4142136 + 0.25) % 1, 3)
        return (self.site_x0 + c * SITE_DX + 50.0 + fx, self.site_y1 - (r + 1) * SITE_DY + 50.0 + fy)

    # -- admin ------------------------------------------------------------------------------
    def _county(self, rng: np.random.Generator) -> Polygon:
        extent = box(self.grid_x0, self.grid_y0, self.grid_x1, self.grid_y1).union(self.sites_box)
        corners = np.asarray(extent.envelope.exterior.coords)
        ox, oy = self.cx, self.cy
        need = float(np.max(np.hypot(corners[:, 0] - ox, corners[:, 1] - oy)))
        if need > 15_000.0:  # the benchmark county: centre it on what it holds
            ox, oy = extent.envelope.centroid.x, extent.envelope.centroid.y
            need = float(np.max(np.hypot(corners[:, 0] - ox, corners[:, 1] - oy)))
        self.ox, self.oy = round(ox, 1), round(oy, 1)
        radius = max(22_000.0, need * 1.05 + 3_000.0)
        n = 96
        theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
        wobble = np.zeros(n)
        for k in (2, 3, 5, 7):
            wobble += rng.uniform(0.2, 1.0) / k * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
        wobble = (wobble - wobble.min()) / (np.ptp(wobble) or 1.0)
        r = radius * (1.0 + 0.25 * wobble)
        pts = np.column_stack([self.ox + r * np.cos(theta), self.oy + r * np.sin(theta)])
        return round_mm(Polygon(np.round(pts, 2)))

    def _townships(self, rng: np.random.Generator) -> list[Township]:
        radius = math.sqrt(self.county.area / math.pi)
        seeds = [(self.cx, self.cy)]
        k = len(TOWNSHIPS) - 1
        for i in range(k):
            a = 2 * math.pi * i / k + rng.uniform(-0.25, 0.25)
            rr = radius * rng.uniform(0.5, 0.65)
            seeds.append((round(self.ox + rr * math.cos(a), 1), round(self.oy + rr * math.sin(a), 1)))
        cells = shapely.voronoi_polygons(
            MultiPoint(seeds), extend_to=self.county.buffer(10_000).envelope, ordered=True
        )
        out = []
        for i, (name, seed) in enumerate(zip(TOWNSHIPS, seeds)):
            geom = round_mm(cells.geoms[i].intersection(self.county))
            out.append(Township(f"{COUNTY_CODE}{100 + i:03d}000", name, seed, geom))
        self._seeds = np.asarray(seeds)
        return out

    def township_of(self, x: float, y: float) -> str:
        """Name of the township whose seed is nearest (the Voronoi rule)."""
        d = np.hypot(self._seeds[:, 0] - x, self._seeds[:, 1] - y)
        return TOWNSHIPS[int(np.argmin(d))]

    def townships_of(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        d = (self._seeds[:, 0][None, :] - xs[:, None]) ** 2 + (
            self._seeds[:, 1][None, :] - ys[:, None]) ** 2
        return np.asarray(TOWNSHIPS)[np.argmin(d, axis=1)]

    def _dev_zone(self) -> Polygon:
        x0, y0, x1, y1 = self.sites_box.buffer(300.0, join_style="mitre").bounds
        cut = 600.0
        shape = Polygon([(x0, y0), (x1 - cut, y0), (x1, y0 + cut), (x1, y1), (x0 + cut, y1),
                         (x0, y1 - cut)])
        return round_mm(shape.intersection(self.county))
