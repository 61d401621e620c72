"""Distillation: the loss zoo (`kdcs.distill.losses`) and the composer of named, weighted terms."""

from __future__ import annotations
