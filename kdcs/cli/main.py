"""The one `kdcs` command. Each subcommand parses arguments and calls the library; nothing more."""

from __future__ import annotations

import typer

from kdcs.cli.collab_command import collab
from kdcs.cli.data_commands import data_app
from kdcs.cli.demo_command import demo
from kdcs.cli.deploy_commands import export, track
from kdcs.cli.run_command import run
from kdcs.cli.train_commands import distill, evaluate, train

app = typer.Typer(
    name="kdcs",
    help="Knowledge-distillation collaborative learning for distributed communications-and-sensing nodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.command("demo")(demo)
app.command("run")(run)
app.command("train")(train)
app.command("distill")(distill)
app.command("evaluate")(evaluate)
app.command("export")(export)
app.command("track")(track)
app.command("collab")(collab)


if __name__ == "__main__":
    app()
