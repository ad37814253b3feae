"""Shipped detectors: model cards, the registry and the onnxruntime classifier."""

from __future__ import annotations

from mimica.models.card import ModelCard
from mimica.models.classifier import Classifier
from mimica.models.registry import DEFAULT_MODEL, available_models, load_model

__all__ = ["DEFAULT_MODEL", "Classifier", "ModelCard", "available_models", "load_model"]
