"""What the views need from the rest of the system, built once per app by the factory."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from gisdb.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: sa.Engine


def services() -> Services:
    """The services of the running app."""
    return current_app.extensions["gisdb"]
