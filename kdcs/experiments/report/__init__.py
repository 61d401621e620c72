"""A study's report from its results: derived numbers (ratios, findings, paper checks), report.md,
plots/ and the summary tables printed at the end. Reads the results dict only (and, for the scene
plot, a model and its data), never the study's config objects."""
