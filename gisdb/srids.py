"""Make sure PostGIS knows an EPSG code before `ST_Transform` uses it.

PostGIS ships a `spatial_ref_sys` table frozen at its release: newer EPSG codes, such as
the VN-2000 provincial TM-3 zones EPSG:9205-9218 (e.g. 9210 "VN-2000 / TM-3 105-45"),
are missing although PROJ knows them. A missing code is registered from PROJ's own
database with its authority ('EPSG', code): PostGIS asks PROJ for the transformation
by that authority code first, so the EPSG-defined datum shift is used (never a bare
proj4 string, which would drop it and put VN-2000 data about 200 m off).
"""
from __future__ import annotations

import warnings

import sqlalchemy as sa
from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert

from .errors import InvalidParameter

SPATIAL_REF_SYS = sa.table("spatial_ref_sys", sa.column("srid"), sa.column("auth_name"),
                           sa.column("auth_srid"), sa.column("srtext"), sa.column("proj4text"))
MAX_SRID = 998999          # PostGIS reserves higher SRIDs for itself


def srid_known(conn: sa.Connection, code: int) -> bool:
    t = SPATIAL_REF_SYS.c
    return conn.execute(sa.select(t.srid).where(
        t.srid == code, t.auth_name == "EPSG", t.auth_srid == code)).first() is not None


def ensure_epsg_srid(engine: sa.Engine, code: int) -> int:
    """`code` as a PostGIS SRID, registering it from PROJ when PostGIS lacks it.
    InvalidParameter when neither knows it or the row cannot be written."""
    with engine.connect() as conn:
        if srid_known(conn, code):
            return code
    if not 0 < code <= MAX_SRID:
        raise InvalidParameter(f"EPSG:{code} cannot be used as a PostGIS SRID")
    try:
        crs = CRS.from_epsg(code)
    except CRSError:
        raise InvalidParameter(f"EPSG:{code} is not known to PROJ or to the database") from None
    with warnings.catch_warnings():      # "proj4 loses information": known, and not used
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4() or ""
    row = {"srid": code, "auth_name": "EPSG", "auth_srid": code,
           "srtext": crs.to_wkt("WKT1_GDAL"), "proj4text": proj4}
    try:
        with engine.begin() as conn:
            conn.execute(pg_insert(SPATIAL_REF_SYS).values(**row)
                         .on_conflict_do_nothing(index_elements=["srid"]))
            if not srid_known(conn, code):
                raise InvalidParameter(f"SRID {code} is taken by another definition in the database")
    except sa_exc.ProgrammingError as exc:       # e.g. no INSERT privilege on spatial_ref_sys
        raise InvalidParameter(f"EPSG:{code} is not in the database's spatial_ref_sys and "
                               "cannot be added there (ask the database owner)") from exc
    return code
