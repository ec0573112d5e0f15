"""Evaluation: the benchmark runner over any dataset reader, its reports and plots."""

from pcnet.evaluation.runner import PRED_SUFFIXES, Setting, evaluate, prediction_settings, summarize

__all__ = ["PRED_SUFFIXES", "Setting", "evaluate", "prediction_settings", "summarize"]
