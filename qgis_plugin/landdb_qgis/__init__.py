"""QGIS plugin entry point."""


def classFactory(iface):
    from .plugin import LanddbPlugin

    return LanddbPlugin(iface)
