"""The study `kdcs run` and `kdcs demo` run: its typed config (the defaults are the demo), the runs
it resolves to, its data stages, its stage graph and the results it assembles for the report."""
