"""Turn the failures an admin can fix into one clear Chinese line and a non-zero exit code, never a
traceback: a config that does not validate, a database that is down, missing, or refuses the login."""

from __future__ import annotations

import re
import sys
from typing import Any

from crmbot import messages as CM

EXIT_CONFIG = 2
EXIT_DATABASE = 3


def run_reporting_errors(app: Any) -> int:
    try:
        app(standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        explained = explain(exc)
        if explained is None:
            raise
        code, line = explained
        print(line, file=sys.stderr)
        return code
    return 0


def explain(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one line saying what to do) for a known failure; None for a bug (shown as a traceback)."""
    config = sys.modules.get("crmbot.config")
    if config is not None and isinstance(exc, config.ConfigError):
        return EXIT_CONFIG, str(exc)
    if "sqlalchemy" in sys.modules:
        line = database_problem(exc)
        if line is not None:
            return EXIT_DATABASE, line
    return None


def _database_url() -> Any:
    from sqlalchemy.engine import make_url

    from crmbot.cli import common

    try:
        # Commands mounted from other packages (bot.cli) load the config themselves: load it again here.
        url = common.last_database_url() or common.config().database.url
        return make_url(url)
    except Exception:  # the config itself is broken: explain without the URL
        return None


def database_problem(exc: BaseException) -> str | None:
    """What to do about a database that cannot be reached or used; None if `exc` is not such a failure."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    if isinstance(exc, NoSuchModuleError | ArgumentError):
        return CM.DB_BAD_URL.format(error=str(exc).splitlines()[0])
    url = _database_url()
    if isinstance(exc, OSError) and url is not None and url.get_backend_name() == "sqlite" and exc.filename \
            and str(url.database or "").startswith(str(exc.filename)):
        return CM.DB_SQLITE_UNOPENABLE.format(path=url.database)
    original = exc.orig if isinstance(exc, OperationalError) else exc
    if not isinstance(exc, OperationalError) and type(original).__name__ != "OperationalError":
        return None
    text = str(original)
    shown = url.render_as_string(hide_password=True) if url is not None else CM.DB_URL_UNKNOWN
    user = (url.username if url is not None else None) or "crmbot"
    name = (url.database if url is not None else None) or "crmbot"
    if match := re.search(r'database "([^"]+)" does not exist', text):
        return CM.DB_MISSING.format(url=shown, name=match.group(1), user=user)
    if match := re.search(r'role "([^"]+)" does not exist', text):
        return CM.DB_ROLE_MISSING.format(url=shown, user=match.group(1), name=name)
    if "password authentication failed" in text or "no password supplied" in text:
        return CM.DB_BAD_PASSWORD.format(url=shown, user=user)
    if "permission denied" in text:
        return CM.DB_NO_PERMISSION.format(url=shown, user=user, name=name)
    if "unable to open database file" in text:
        return CM.DB_SQLITE_UNOPENABLE.format(path=name)
    if "database is locked" in text:
        return CM.DB_LOCKED
    if re.search(r"connection refused|could not connect|connection failed|timeout|timed out|"
                 r"could not translate host name|name or service not known|no route to host", text, re.I):
        return CM.DB_UNREACHABLE.format(url=shown)
    return CM.DB_OTHER.format(url=shown, error=text.strip().splitlines()[0] if text.strip() else type(original).__name__)
