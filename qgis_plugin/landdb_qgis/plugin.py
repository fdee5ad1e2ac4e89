"""The plugin's GUI: a menu entry that loads the landdb layers from a chosen connection."""

from __future__ import annotations

from qgis.core import Qgis
from qgis.PyQt.QtWidgets import QInputDialog

try:  # Qt6: QAction lives in QtGui
    from qgis.PyQt.QtGui import QAction
except ImportError:  # Qt5
    from qgis.PyQt.QtWidgets import QAction

from . import core

MENU = "&landdb 批而未供和闲置土地"
_LEVEL = getattr(Qgis, "MessageLevel", Qgis)
CUSTOM = "其他连接（输入连接串或 service=…）"


class LanddbPlugin:
    def __init__(self, iface) -> None:
        self.iface = iface
        self.action: QAction | None = None

    def initGui(self) -> None:
        self.action = QAction("加载 landdb 图层…", self.iface.mainWindow())
        self.action.triggered.connect(self.load)
        self.iface.addPluginToDatabaseMenu(MENU, self.action)

    def unload(self) -> None:
        if self.action is not None:
            self.iface.removePluginDatabaseMenu(MENU, self.action)
            self.action = None

    def _choose_uri(self) -> str | None:
        saved = core.saved_connections()
        items = [*sorted(saved), CUSTOM]
        name, ok = QInputDialog.getItem(self.iface.mainWindow(), "landdb", "选择 PostgreSQL 连接：",
                                        items, 0, False)
        if not ok:
            return None
        if name != CUSTOM:
            return saved[name]
        text, ok = QInputDialog.getText(
            self.iface.mainWindow(), "landdb",
            "连接串（例如 service=landdb 或 host=/var/lib/landdb/run dbname=landdb user=landdb）：")
        return text.strip() if ok and text.strip() else None

    def load(self) -> None:
        uri = self._choose_uri()
        if not uri:
            return
        try:
            layers = core.load_layers(uri)
        except core.LanddbConnectionError as e:
            self.iface.messageBar().pushMessage("landdb", str(e), level=_LEVEL.Critical, duration=10)
            return
        self.iface.messageBar().pushMessage(
            "landdb", f"已加载 {len(layers)} 个图层（结构版本 {core.schema_version(uri)}）",
            level=_LEVEL.Success, duration=5)
