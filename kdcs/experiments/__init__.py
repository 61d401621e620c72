"""Experiments: a teacher + students + collaboration study run as named, resumable stages, and its report.

`kdcs run` and `kdcs demo` call `kdcs.experiments.study.experiment.run_experiment(load_experiment(...),
out, console)`. Nothing is imported here, so the command's help can read `study.quick` without torch.
Three packages, each importing only the ones before it:
- stages/: a generic runner of named, resumable stages (runner, store, fingerprint, worker_env,
  progress); what a stage does is a job (`kdcs.jobs.stage_jobs`).
- report/: from the results dict to results.json, report.md and plots/ (findings, paper_checks,
  markdown, write, plots/, summary_table).
- study/: what runs: config (typed defaults = the demo, demo_defaults), resolve (configs -> runs),
  data (scenario, caches, floors), experiment (the stage graph and run_experiment), results, budget.
"""
