"""Bump MODEL_VERSION when features or components change: a saved model of another version is stale (it is
retrained, or a server refuses it; see nlu.model.model_key for everything else the model file is keyed by)."""

MODEL_VERSION = "4"
