"""Evaluation: beam-prediction metrics, floors, complexity."""
