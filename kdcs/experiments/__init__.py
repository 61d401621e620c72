"""Experiments: a teacher + students + collaboration study run as named, resumable stages, and its report.

`kdcs run <experiment.yaml>` and `kdcs demo` call `run_experiment(load_experiment(...), out, console)`.
Three packages, each importing only the ones before it:
- stages/: a generic runner of named, resumable stages (runner, store, fingerprint, worker_env,
  progress); what a stage does is a job (`kdcs.jobs.stage_jobs`).
- report/: from the results dict to results.json, report.md and plots/ (findings, paper_checks,
  markdown, write, plots/, summary_table).
- study/: what runs: config (typed defaults = the demo, demo_defaults), resolve (configs -> runs),
  data (scenario, caches, floors), experiment (the stage graph and run_experiment), results, budget.
"""

from __future__ import annotations

from kdcs.experiments.stages import StageFailed
from kdcs.experiments.study.config import ExperimentConfig, load_experiment
from kdcs.experiments.study.experiment import run_experiment

__all__ = ["ExperimentConfig", "StageFailed", "load_experiment", "run_experiment"]
