"""Micro-expression recognition methods: descriptor + SVM pipelines and deep networks."""

from srmer.mer.base import MERMethod
from srmer.mer.registry import MER_METHODS, create, get_class

__all__ = ["MER_METHODS", "MERMethod", "create", "get_class"]
