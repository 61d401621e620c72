"""Experiments: a teacher + students + collaboration study run as named, resumable stages, and its report.

`kdcs run <experiment.yaml>` and `kdcs demo` call `run_experiment(load_experiment(...), out, console)`.
One concept per module: config (typed defaults = the demo), resolve (configs -> runs), study_data
(scenario, caches, floors), stage_runner / stage_store / fingerprint (resumable stages; what a stage
does is `kdcs.jobs.stage_jobs`), results / findings / paper_checks (numbers and sentences),
report / report_md / plots_* (what is written), summary_table (what is printed).
"""

from __future__ import annotations

from kdcs.experiments.config import ExperimentConfig, load_experiment
from kdcs.experiments.stage_runner import StageFailed
from kdcs.experiments.study import run_experiment

__all__ = ["ExperimentConfig", "StageFailed", "load_experiment", "run_experiment"]
