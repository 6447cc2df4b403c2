"""Regenerate the initial migration from the models (pre-release only: no database in the field yet).

Usage: python -m crm_store.migrations.regenerate
Once a release is deployed, schema changes become new revisions (alembic revision --autogenerate).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from crm_store.db import MIGRATIONS_DIR, alembic_config, make_engine

INITIAL = MIGRATIONS_DIR / "versions" / "0001_initial_schema.py"


def main() -> None:
    INITIAL.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
        engine.dispose()
    print(f"regenerated {INITIAL.relative_to(MIGRATIONS_DIR.parent.parent)}")


if __name__ == "__main__":
    main()
