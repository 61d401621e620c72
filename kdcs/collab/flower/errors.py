"""A Flower run that could not be carried out (a process died, nodes never joined, the run failed).

Its message names what failed and where the logs are; the CLI prints it as one error line, exit 2,
instead of a traceback: the cause is the deployment (ports, hosts, keys), not a bug in kdcs."""

from __future__ import annotations


class FlowerRunError(RuntimeError):
    pass
