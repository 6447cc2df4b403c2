from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from crm_store.db import make_engine, session_factory, transaction
from crm_store.demo import seed_demo
from crmbot.config import Config, NLUSettings
from crmbot.wiring import Runtime
from tests.conftest import _empty_pg

DEMO_NOW = datetime.fromisoformat("2026-11-27T10:00:00+08:00")


@pytest.fixture(scope="session")
def nlu_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu") / "model.pkl"


@pytest.fixture(scope="session")
def nlu_parser(nlu_model_path: Path):  # type: ignore[no-untyped-def]
    """The real NLU, trained once per test session (load_parser trains when the model file is missing)."""
    from nlu import load_parser

    return load_parser(NLUSettings(model_path=str(nlu_model_path)), Config().tz)


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
        config = Config.model_validate({"database": {"url": url}})
        engine = make_engine(url)
        engines.append(engine)
        return Runtime(config, engine, session_factory(engine))

    yield make
    for engine in engines:
        engine.dispose()
