"""The chat platforms: one module per platform, each registering one Channel class."""

from __future__ import annotations

import importlib
import pkgutil

from bot.channels.base import Channel, ChannelSettings, DeliveryError, Inbound, Outgoing

REGISTRY: dict[str, type[Channel]] = {}
_NOT_PLATFORMS = {"base"}


def register(cls: type[Channel]) -> type[Channel]:
    REGISTRY[cls.name] = cls
    return cls


def discover() -> dict[str, type[Channel]]:
    """Import every platform module in this package once; returns name -> Channel class."""
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _NOT_PLATFORMS and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(REGISTRY.items()))


def settings_models() -> dict[str, type[ChannelSettings]]:
    return {name: cls.settings_model for name, cls in discover().items()}


__all__ = ["REGISTRY", "Channel", "ChannelSettings", "DeliveryError", "Inbound", "Outgoing", "discover",
           "register", "settings_models"]
