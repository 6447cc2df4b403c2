from sqlalchemy import Engine, inspect

from crm_store.db import current_revision
from crm_store.models import Base


def test_migrations_create_every_model_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert current_revision(engine) is not None
