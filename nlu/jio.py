"""jionlp, imported lazily and quietly (it prints a banner to stdout on import and loads slowly)."""

from __future__ import annotations

import contextlib
import io
from typing import Any

_jio: Any = None


def jionlp_module() -> Any:
    global _jio
    if _jio is None:
        with contextlib.redirect_stdout(io.StringIO()):
            import jionlp

        _jio = jionlp
    return _jio
