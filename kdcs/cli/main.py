"""The one `kdcs` command. Each subcommand parses its options and calls one job; nothing more.

Commands are listed in the order data flows: data, train, distill, evaluate, collab, export, track,
run, demo.
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from kdcs.cli.collab_command import collab
from kdcs.cli.data_commands import data_app
from kdcs.cli.demo_command import demo
from kdcs.cli.deploy_commands import export, track
from kdcs.cli.run_command import run
from kdcs.cli.train_commands import distill, evaluate, train

DATA_FLOW = ("data", "train", "distill", "evaluate", "collab", "export", "track", "run", "demo")


class DataFlowOrder(TyperGroup):
    """`kdcs --help` lists the commands in DATA_FLOW order (typer would list groups last)."""

    def list_commands(self, ctx) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: DATA_FLOW.index(name) if name in DATA_FLOW else len(DATA_FLOW))


app = typer.Typer(
    name="kdcs",
    cls=DataFlowOrder,
    help="Knowledge-distillation collaborative learning for distributed communications-and-sensing nodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
for name, command in (
    ("train", train),
    ("distill", distill),
    ("evaluate", evaluate),
    ("collab", collab),
    ("export", export),
    ("track", track),
    ("run", run),
    ("demo", demo),
):
    app.command(name)(command)


if __name__ == "__main__":
    app()
