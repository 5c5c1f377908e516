#!/bin/sh
# Installs the Debian packages the project needs, only those missing.
#   run:  PostgreSQL 15 + PostGIS 3 (unless GISDB_DATABASE_URL is set), fonts for labels
#   test: also GDAL's command-line tools, Chromium and poppler-utils (pdftoppm/pdftotext
#         for the reports, pdfinfo for the printed map) for the real-client tests
#   bench: also the load generators and baselines of bench/ (wrk, nginx; pgbench ships
#          with postgresql-15)
set -e
want="fonts-dejavu-core"
if [ -z "$GISDB_DATABASE_URL" ]; then
  want="$want postgresql-15 postgresql-15-postgis-3"
fi
if [ "$1" = "test" ]; then
  want="$want gdal-bin chromium poppler-utils"
fi
if [ "$1" = "bench" ]; then
  want="$want gdal-bin chromium poppler-utils wrk nginx-light"
fi
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != "0" ]; then
  echo "Missing Debian packages:$missing" >&2
  echo "Install them as root (apt-get install$missing)," >&2
  echo "or set GISDB_DATABASE_URL to an existing PostGIS database." >&2
  exit 1
fi
echo "Installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
