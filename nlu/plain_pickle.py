"""Pickles of plain values only (dict, list, tuple, str, bytes, numbers): loading one never imports or runs code."""

from __future__ import annotations

import io
import pickle


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        raise pickle.UnpicklingError(f"pickle names a class ({module}.{name}); expected plain values")


def dumps(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def loads(raw: bytes) -> object:
    """Raises pickle.UnpicklingError (also for any class or function reference), EOFError or ValueError."""
    return _PlainUnpickler(io.BytesIO(raw)).load()
