"""Errors raised by services. Each carries a short Chinese message a dialog can show as is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class CRMError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CRMError):
    pass


class PermissionDenied(CRMError):
    pass


class InvalidInput(CRMError):
    pass


class PhoneTaken(InvalidInput):
    """办卡 with a phone that is already a member's (the message may rather be a look-up of that member)."""


class RateLimited(CRMError):
    pass


class AlreadyDecided(CRMError):
    """A decision (approval, binding code, ...) that was already taken: applied once, never twice."""


class Ambiguous(CRMError):
    """Several records match; the dialog asks the user to pick one."""

    def __init__(self, message: str, candidates: Sequence[Any]) -> None:
        super().__init__(message)
        self.candidates = list(candidates)


class Duplicate(CRMError):
    """A record with the same name or alias already exists."""

    def __init__(self, message: str, existing: Sequence[Any]) -> None:
        super().__init__(message)
        self.existing = list(existing)
