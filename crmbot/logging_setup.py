"""Log redaction: mainland mobile numbers and configured secrets (typed SecretStr) never reach a log line.

`RedactingFilter` rewrites a record's message (after %-formatting its args) and its exception text.
`install_redaction(config)` applies it to every record created from then on (a record factory), so
uvicorn's, PTB's, httpx's and SQLAlchemy's loggers are covered whatever handlers they use.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# 11-digit mobile not glued to other digits (order numbers, timestamps stay intact).
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
SECRET_MASK = "***"
# Shorter values would mask ordinary words and numbers everywhere.
MIN_SECRET_LENGTH = 6


def mask_phones(text: str) -> str:
    return _MOBILE.sub(r"\1****\3", text)


def config_secrets(config: BaseModel) -> list[str]:
    """Every secret the configuration holds, found by type: each SecretStr setting (bot tokens, app secrets,
    AES keys, whatever a new channel adds) and the password inside any URL setting (database, Redis)."""
    values: list[str] = []
    for value in _leaves(config):
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
        elif isinstance(value, str) and "://" in value:
            try:
                password = make_url(value).password
            except (ArgumentError, ValueError):
                password = None
            if password:
                values.append(str(password))
    return values


def _leaves(model: BaseModel) -> Iterator[Any]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _leaves(value)
        elif isinstance(value, dict):
            yield from value.values()
        elif isinstance(value, list):
            yield from value
        else:
            yield value


class RedactingFilter(logging.Filter):
    """Masks phone numbers and the given secrets in the message, its args and the exception text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first: a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, SECRET_MASK)
        return mask_phones(text)

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bool | int | float | type(None)) and not _MOBILE.search(str(value)):
            return value  # keeps %d and %.1f working
        shown = str(value)
        masked = self.redact(shown)
        return value if masked == shown else masked

    def filter(self, record: logging.LogRecord) -> bool:
        original_msg, original_args = record.msg, record.args
        record.msg = self.redact(original_msg if isinstance(original_msg, str) else str(original_msg))
        # Args are masked one by one (handlers like uvicorn's access log read them as a tuple).
        if isinstance(original_args, dict):
            record.args = {k: self._value(v) for k, v in original_args.items()}
        elif isinstance(original_args, tuple):
            record.args = tuple(self._value(v) for v in original_args)
        try:
            record.getMessage()
        except Exception:  # a masked number no longer fits its %d: mask the formatted line instead
            try:
                whole = str(original_msg) % original_args if original_args else str(original_msg)
            except Exception:
                whole = f"{original_msg!r} {original_args!r}"
            record.msg, record.args = self.redact(whole), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_original_factory: Callable[..., logging.LogRecord] | None = None


def install_redaction(config: BaseModel, extra_secrets: Iterable[str] = ()) -> RedactingFilter:
    """Redact every log record created in this process from now on (calling it again replaces the filter)."""
    global _original_factory
    redactor = RedactingFilter([*config_secrets(config), *extra_secrets])
    if _original_factory is None:
        _original_factory = logging.getLogRecordFactory()
    base = _original_factory

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        redactor.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    return redactor


def uninstall_redaction() -> None:
    """Back to the standard record factory (tests)."""
    global _original_factory
    if _original_factory is not None:
        logging.setLogRecordFactory(_original_factory)
        _original_factory = None
