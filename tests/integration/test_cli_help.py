"""What `kdcs --help` and the commands' help say is generated from what the code does."""

from __future__ import annotations

from typer.testing import CliRunner

from kdcs.cli.main import app
from kdcs.distill.named_recipes import NAMED_RECIPES
from kdcs.experiments.study.quick import QUICK

runner = CliRunner()


def _help(*command: str) -> str:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_are_listed_in_the_order_data_flows():
    text = _help()
    order = ["data", "train", "distill", "evaluate", "collab", "export", "track", "run", "demo"]
    positions = [text.index(f"│ {name} ") for name in order]
    assert positions == sorted(positions)


def test_distill_lists_every_named_recipe():
    assert f"KD recipe (kd.recipe): {', '.join(NAMED_RECIPES)}." in _help("distill")


def test_quick_help_states_the_epochs_the_quick_study_runs():
    for command in ("demo", "run"):
        assert f"at most {QUICK['max_epochs']} epochs per model" in _help(command)


def test_every_command_takes_inputs_as_scenario_and_outputs_as_out():
    for command in (
        ("data", "prepare"),
        ("data", "inspect"),
        ("train",),
        ("distill",),
        ("track",),
        ("collab",),
    ):
        assert "--scenario" in _help(*command), command
    for command in (("data", "synth"), ("data", "prepare"), ("train",), ("export",), ("track",), ("run",)):
        assert "--out" in _help(*command), command
