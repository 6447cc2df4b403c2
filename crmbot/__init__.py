"""Wiring for crmbot: configuration and the command line. The architecture lives in the sibling packages."""

__version__ = "0.1.0"
