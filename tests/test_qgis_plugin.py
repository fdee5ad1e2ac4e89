"""The QGIS plugin against a real QGIS (headless) and the real test database."""

from __future__ import annotations

import configparser
import os
import sys

import pytest

from .conftest import REPO

PLUGIN_DIR = REPO / "qgis_plugin"
pytestmark = pytest.mark.qgis


def test_metadata_declares_versions_and_qt6():
    meta = configparser.ConfigParser()
    meta.read(PLUGIN_DIR / "landdb_qgis" / "metadata.txt", encoding="utf-8")
    g = meta["general"]
    assert g["qgisMinimumVersion"] == "3.22" and g["supportsQt6"] == "yes"
    assert "批而未供" in g["name"]


def test_plugin_imports_qt_only_through_qgis_pyqt():
    for f in (PLUGIN_DIR / "landdb_qgis").glob("*.py"):
        imports = [ln.split() for ln in f.read_text(encoding="utf-8").splitlines()
                   if ln.lstrip().startswith(("import ", "from "))]
        modules = {words[1].split(".")[0] for words in imports}
        assert not modules & {"PyQt5", "PyQt6", "geopandas", "psycopg2", "landdb"}, (f, modules)


@pytest.fixture(scope="module")
def qgis_app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    sys.path.insert(0, str(PLUGIN_DIR))
    yield app
    sys.path.remove(str(PLUGIN_DIR))


@pytest.fixture
def uri(cluster, dbname) -> str:
    ci = cluster.conninfo(dbname=dbname)
    return f"host={ci['host']} port={ci['port']} dbname={dbname} user={ci['user']}"


def test_layers_load_with_chinese_aliases(qgis_app, uri, conn):
    from landdb_qgis import core
    from qgis.core import QgsProject

    with conn.cursor() as cur:
        cur.execute("INSERT INTO landdb.supply (supply_key, dzjgh, land_user, geom) VALUES "
                    "('QGIS-1', 'QGIS-1', '插件测试公司', ST_Multi(ST_GeomFromText("
                    "'POLYGON((565000 3600000,565100 3600000,565100 3600100,565000 3600100,565000 3600000))', 4547)))")
        cur.execute("SELECT count(*) FROM landdb.supply WHERE geom IS NOT NULL")
    conn.commit()
    project = QgsProject()
    layers = core.load_layers(uri, project)
    by_title = {lyr.name(): lyr for lyr in layers}
    assert set(by_title) == {ld.title for ld in core.LAYERS}
    supply = by_title["土地供应（供）"]
    assert supply.isValid() and supply.crs().authid() == "EPSG:4547"
    fields = supply.fields()
    assert supply.attributeDisplayName(fields.indexOf("land_user")) == "土地使用权人"
    assert supply.attributeDisplayName(fields.indexOf("dzjgh")) == "电子监管号"
    users = {f["land_user"] for f in supply.getFeatures()}
    assert "插件测试公司" in users
    group = project.layerTreeRoot().findGroup(core.GROUP)
    assert group is not None and len(group.findLayers()) == len(core.LAYERS)
    assert group.findLayers()[0].layer().name() == core.LAYERS[-1].title, "analysis results on top"


def test_a_database_without_landdb_is_refused_clearly(qgis_app, cluster):
    from landdb_qgis import core

    ci = cluster.conninfo(dbname="postgres")
    with pytest.raises(core.LanddbConnectionError, match="landdb db upgrade"):
        core.schema_version(f"host={ci['host']} port={ci['port']} dbname=postgres user={ci['user']}")
