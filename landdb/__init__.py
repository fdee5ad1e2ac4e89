"""landdb: 批而未供和闲置土地 上图入库 / 以图管地 database (PostGIS, library, CLI)."""

__version__ = "0.1.0"
