"""What the plugin does, without widgets: connect, check the schema, load styled layers.

Uses only QGIS's own PostgreSQL provider (no psycopg2, no landdb library), so it runs in a
stock QGIS 3.22+ on Qt5 or Qt6.
"""

from __future__ import annotations

from dataclasses import dataclass

from qgis.core import (
    QgsDataSourceUri,
    QgsFillSymbol,
    QgsProject,
    QgsProviderRegistry,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
    QgsWkbTypes,
)

#: Schema versions this plugin understands (landdb.schema_version()).
MIN_SCHEMA, MAX_SCHEMA = 2, 99
GROUP = "landdb 批而未供和闲置土地"


@dataclass(frozen=True)
class LayerDef:
    relation: str
    title: str
    key: str = "id"
    fill: str = ""  # QgsFillSymbol properties: color, outline_color, outline_width, style
    outline: str = "#333333"
    width: float = 0.3


# Drawn bottom to top.
LAYERS = (
    LayerDef("admin_area", "行政区", fill="no", outline="#7f7f7f", width=0.6),
    LayerDef("dev_zone", "开发区", fill="no", outline="#8e44ad", width=0.6),
    LayerDef("approval_batch", "建设用地批次（批）", fill="#a6cee380", outline="#1f78b4", width=0.4),
    LayerDef("supply", "土地供应（供）", fill="#b2df8aa0", outline="#33a02c"),
    LayerDef("rs_patch", "卫片图斑", fill="no", outline="#ff7f00", width=0.5),
    LayerDef("v_unsupplied", "批而未供图斑（最新分析）", fill="#e31a1ca0", outline="#b00000"),
)


class LanddbConnectionError(Exception):
    """The database cannot be used: unreachable, not a landdb database, or a wrong version."""


def connection(uri: str):
    """A QGIS provider connection to the PostgreSQL database at ``uri`` (libpq style)."""
    md = QgsProviderRegistry.instance().providerMetadata("postgres")
    return md.createConnection(uri, {})


def schema_version(uri: str) -> int:
    """landdb.schema_version() of the database, with a Chinese message when it is not landdb."""
    try:
        conn = connection(uri)
        found = conn.executeSql("SELECT to_regprocedure('landdb.schema_version()') IS NOT NULL")
    except Exception as e:  # QgsProviderConnectionException and friends
        raise LanddbConnectionError(f"无法连接数据库：{e}") from e
    if not found or not found[0][0]:
        raise LanddbConnectionError("该数据库中没有 landdb 结构；请先执行 landdb db upgrade")
    version = int(conn.executeSql("SELECT landdb.schema_version()")[0][0])
    if not MIN_SCHEMA <= version <= MAX_SCHEMA:
        raise LanddbConnectionError(
            f"数据库结构版本 {version} 与本插件（支持 {MIN_SCHEMA}–{MAX_SCHEMA}）不符，请升级插件或数据库")
    return version


def column_aliases(uri: str) -> dict[str, dict[str, str]]:
    """relation → column → Chinese alias, from the column comments ('中文 | English')."""
    rows = connection(uri).executeSql(
        "SELECT c.relname, a.attname, col_description(c.oid, a.attnum) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "WHERE n.nspname = 'landdb' AND col_description(c.oid, a.attnum) IS NOT NULL")
    out: dict[str, dict[str, str]] = {}
    for rel, col, comment in rows:
        out.setdefault(str(rel), {})[str(col)] = str(comment).split(" | ")[0].strip()
    return out


def make_layer(uri: str, ld: LayerDef, aliases: dict[str, str]) -> QgsVectorLayer:
    src = QgsDataSourceUri(uri)
    src.setDataSource("landdb", ld.relation, "geom", "", ld.key)
    src.setWkbType(QgsWkbTypes.MultiPolygon)
    src.setSrid("")
    layer = QgsVectorLayer(src.uri(False), ld.title, "postgres")
    if not layer.isValid():
        return layer
    for i, f in enumerate(layer.fields()):
        alias = aliases.get(f.name())
        if alias:
            layer.setFieldAlias(i, alias)
    props = {"outline_color": ld.outline, "outline_width": str(ld.width)}
    if ld.fill == "no":
        props["style"] = "no"
    else:
        props["color"] = ld.fill
    layer.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple(props)))
    return layer


def load_layers(uri: str, project: QgsProject | None = None) -> list[QgsVectorLayer]:
    """Check the schema, then add the landdb layers to a group of the project."""
    schema_version(uri)
    project = project or QgsProject.instance()
    aliases = column_aliases(uri)
    root = project.layerTreeRoot()
    group = root.findGroup(GROUP) or root.insertGroup(0, GROUP)
    layers = []
    for ld in reversed(LAYERS):  # the first added is drawn on top
        layer = make_layer(uri, ld, aliases.get(ld.relation, {}))
        if not layer.isValid():
            raise LanddbConnectionError(f"图层 {ld.title}（landdb.{ld.relation}）无法加载")
        project.addMapLayer(layer, False)
        group.addLayer(layer)
        layers.append(layer)
    return layers


def saved_connections() -> dict[str, str]:
    """PostgreSQL connections saved in QGIS: name → uri."""
    md = QgsProviderRegistry.instance().providerMetadata("postgres")
    return {name: c.uri() for name, c in md.connections().items()}
