"""The `kdcs` command; each subcommand parses its options and calls one job (`kdcs.jobs`).

Each command imports its job inside the function, when it runs: the jobs load torch (seconds on a
busy machine), which `kdcs --help` and an option error should not wait for.
"""
