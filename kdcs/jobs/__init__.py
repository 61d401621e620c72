"""Jobs: one module per CLI verb, each the only code its `kdcs` command calls.

synth, prepare, inspect (`kdcs data ...`), train, distill, evaluate, collab, export, track; and
stage_jobs, what a stage of `kdcs run` does. Each ties the layers below together (scenario -> cache
-> windows -> models -> trainer -> evaluation -> run folder); `kdcs run` and `kdcs demo` call the
study (`kdcs.experiments`), the layer above this one.
"""
