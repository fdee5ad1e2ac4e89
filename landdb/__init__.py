"""landdb: 批而未供和闲置土地 上图入库 / 以图管地 database (PostGIS, library, CLI)."""

import os
import sys
from importlib.util import find_spec
from pathlib import Path

__version__ = "0.1.0"


def _proj_data() -> None:
    """Point a system pyproj run from a virtual environment at the system's PROJ data.

    Debian's pyproj looks for its data under ``sys.prefix``, which in a venv is the venv: it then
    warns on every start ("Valid PROJ data directory not found") although PROJ itself finds
    ``/usr/share/proj``. A pyproj wheel brings its own data (``proj_dir``) and is left alone.
    """
    if os.environ.get("PROJ_DATA") or os.environ.get("PROJ_LIB") or sys.prefix == sys.base_prefix:
        return
    spec = find_spec("pyproj")
    if spec is None or spec.origin is None:
        return
    if (Path(spec.origin).parent / "proj_dir" / "share" / "proj").is_dir():
        return
    if (Path(sys.prefix) / "share" / "proj" / "proj.db").exists():
        return
    system = Path(sys.base_prefix) / "share" / "proj"
    if (system / "proj.db").exists():
        os.environ["PROJ_DATA"] = str(system)


_proj_data()
