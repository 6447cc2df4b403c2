"""Turn the errors an admin can fix into one clear line and a non-zero exit code, never a traceback."""

from __future__ import annotations

import sys
from typing import Any


def run_reporting_errors(app: Any) -> int:
    try:
        app(standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        line = explain(exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 2
    return 0


def explain(exc: BaseException) -> str | None:
    """One line saying what to do about a known failure, or None for a real bug (shown as a traceback)."""
    config = sys.modules.get("crmbot.config")
    if config is not None and isinstance(exc, config.ConfigError):
        return str(exc)
    return None
