"""A generic runner of named, resumable stages: fingerprints, stored records, worker processes, progress.

It knows nothing about models or studies: a stage is a module-level function of JSON-ready
arguments, the stages it needs, and whether it may share the CPU (see `runner`).
"""

from __future__ import annotations

from kdcs.experiments.stages.runner import Stage, StageFailed, run_stages
from kdcs.experiments.stages.store import StageRecord, StageStore

__all__ = ["Stage", "StageFailed", "StageRecord", "StageStore", "run_stages"]
