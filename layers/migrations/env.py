"""Alembic environment: runs on the connection handed over by `layers.schema.migrate`."""
from alembic import context

import gisdb.meta_tables  # noqa: F401  (registers the meta tables on Base.metadata)
import layers.registry  # noqa: F401  (registers every model on Base.metadata)
from gisdb.model import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  version_table_schema="meta", include_schemas=True)
with context.begin_transaction():
    context.run_migrations()
