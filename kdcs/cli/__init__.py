"""The `kdcs` command; each subcommand only calls the library."""
