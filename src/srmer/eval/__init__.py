"""Evaluation: protocols (LOSO), metrics (WAR/UAR/UF1) and statistics (ANOVA, letter groups)."""

from srmer.eval.metrics import all_metrics, confusion, uar, uf1, war
from srmer.eval.protocol import loso_predict, loso_splits

__all__ = ["all_metrics", "confusion", "loso_predict", "loso_splits", "uar", "uf1", "war"]
