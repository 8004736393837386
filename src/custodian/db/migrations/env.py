from alembic import context
from sqlmodel import SQLModel

from custodian.db import models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata
engine = context.config.attributes.get("engine")

if engine is None:  # offline SQL generation
    context.configure(url="sqlite://", target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
