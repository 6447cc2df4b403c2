"""Shared fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL: one throw-away database per test session (so parallel runs never collide), migrated once,
emptied between tests. SQLite: one migrated template file per session, copied per test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import make_engine, session_factory, transaction, upgrade
from crm_store.demo import seed_demo
from crm_store.models import Base
from crmbot.config import Config, NLUSettings
from crmbot.wiring import Runtime

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("CRMBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]
DEMO_NOW = datetime.fromisoformat("2026-11-27T10:00:00+08:00")


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}


@pytest.fixture(scope="session", autouse=True)
def user_var_untouched() -> Iterator[None]:
    """The suite writes databases, models, charts and exports into temporary folders, never into the
    user's var/ next to config.yml (where `crmbot chat` keeps the real company)."""
    var = REPO / "var"
    before = _files(var)
    yield
    changed = sorted(set(_files(var).items()) ^ set(before.items()))
    assert not changed, f"the test suite wrote into {var}: {changed[:10]}"


def _pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"crmbot_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # CI starts PostgreSQL; a missing server is a real failure
        pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    url = f"{base}/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _empty_pg(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated database; parametrized over both backends."""
    if request.param == "sqlite":
        path = tmp_path / "crm.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    _empty_pg(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session


@pytest.fixture
def demo_factory(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """A sessionmaker on a database filled by crm_store.demo.seed_demo(now=2026-11-27 10:00 Asia/Shanghai).

    Parametrized over both backends like `factory`. Staff: 赵建国 director, 陈静 manager, 张伟/李娜/王强 reps,
    周芳 clerk, 管理员 admin; ~60 customers, 200 members.
    """
    with transaction(factory) as session:
        seed_demo(session, now=DEMO_NOW)
    return factory


# --- the real NLU and a seeded demo company, shared by dialog, channel and scale tests ---------------


@pytest.fixture(scope="session")
def nlu_trained():  # type: ignore[no-untyped-def]
    """The real NLU trained once per test session; keeps the fitted numpy objects for reference tests."""
    from nlu.data_io import data_hash, load_training
    from nlu.training import train_model

    return train_model(load_training(None), data_hash(None))


@pytest.fixture(scope="session")
def nlu_model_path(tmp_path_factory: pytest.TempPathFactory, nlu_trained) -> Path:  # type: ignore[no-untyped-def]
    from nlu.model import save_model

    path = tmp_path_factory.mktemp("nlu") / "nlu-model.bin"
    save_model(nlu_trained.to_model(), path)
    return path


@pytest.fixture(scope="session")
def nlu_parser(nlu_model_path: Path):  # type: ignore[no-untyped-def]
    """The real NLU, loaded the way a server loads it (never training)."""
    from nlu import load_parser

    return load_parser(NLUSettings(model_path=str(nlu_model_path)), Config().tz, train_if_missing=False)


def _seed(url: str) -> None:
    engine = make_engine(url)
    with transaction(session_factory(engine)) as session:
        seed_demo(session, now=DEMO_NOW)
    engine.dispose()


@pytest.fixture(scope="session")
def demo_sqlite_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(sqlite_template, path)
    _seed(f"sqlite:///{path}")
    return path


@pytest.fixture
def demo_runtime_for(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], Runtime]]:
    """A runtime over a freshly seeded demo database on the named backend."""
    engines = []

    def make(backend: str) -> Runtime:
        if backend == "sqlite":
            path = tmp_path / "demo.db"
            shutil.copy(request.getfixturevalue("demo_sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            url = request.getfixturevalue("pg_url")
            engine = make_engine(url)
            _empty_pg(engine)
            engine.dispose()
            _seed(url)
        config = Config.model_validate({"database": {"url": url}, "data_dir": str(tmp_path / "var")})
        engine = make_engine(url)
        engines.append(engine)
        return Runtime(config, engine, session_factory(engine))

    yield make
    for engine in engines:
        engine.dispose()
