"""Bump MODEL_VERSION when features or components change: saved models of another version are retrained."""

MODEL_VERSION = "4"
