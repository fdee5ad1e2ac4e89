#!/usr/bin/env bash
# Install the Debian packages landdb needs, only those missing. Fast when all are present.
set -euo pipefail
pkgs=(
  postgresql-15 postgresql-15-postgis-3   # the embedded server and PostGIS
  gdal-bin                                # ogr2ogr: the loading baseline, ogrinfo
  python3-venv python3-psycopg2           # the venv and the psycopg2 QGIS also uses
  python3-qgis qgis-providers             # QGIS for the plugin's tests
  fonts-noto-cjk                          # CJK glyphs for maps, reports, screenshots
)
missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "安装系统软件包 (installing Debian packages): ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
