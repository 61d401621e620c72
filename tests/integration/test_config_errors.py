"""Every config error, wherever it is detected, is one sentence naming the key (and the file when it came
from YAML), exit code 2, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdcs.cli.main import app
from tests.fixtures.scenario_factory import make_scenario

runner = CliRunner()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    return make_scenario(
        tmp_path_factory.mktemp("scn") / "s", num_sequences=6, modalities=("power", "gps", "beam")
    )


def _train(scenario: Path, tmp_path: Path, *extra: str):
    args = ["train", "--scenario", str(scenario), "--out", str(tmp_path / "run")]
    args += ["--set", f"data.cache_root={tmp_path / 'cache'}", "--set", "model.architecture=gps-beam-student"]
    return runner.invoke(app, [*args, *extra])


def _assert_one_sentence_before_any_write(result, tmp_path: Path, *named: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in named:
        assert text in lines[0], lines[0]
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("kd.terms.task.gama=2", ("'kd.terms.task.gama'", "'focal' has no parameter 'gama'")),
        ("kd.terms.foo.weight=1", ("'kd.terms.foo'", "no loss named 'foo'")),
        ("kd.terms.kd.weight=heavy", ("'kd.terms.kd.weight'", "must be a number")),
        ("model.architecture=foo", ("'model.architecture'", "unknown architecture 'foo'")),
        ("model.modalities=[sonar]", ("'model.modalities'", "unknown modality 'sonar'")),
        ("kd.recipe=logits", ("'kd.recipe'", "unknown recipe 'logits'")),
        ("train.epoks=3", ("'train.epoks'",)),
    ],
)
def test_a_bad_override_is_one_sentence_naming_the_key(scenario: Path, tmp_path: Path, override, named):
    result = _train(
        scenario, tmp_path, "--set", "kd.recipe=logit", "--set", "kd.teacher=t", "--set", override
    )

    _assert_one_sentence_before_any_write(result, tmp_path, *named)


def test_a_yaml_syntax_error_names_the_file_and_line(scenario: Path, tmp_path: Path):
    config = tmp_path / "broken.yaml"
    config.write_text("train:\n  epochs: 3\n model: {architecture: ds-student\n")

    result = _train(scenario, tmp_path, "--config", str(config))

    _assert_one_sentence_before_any_write(result, tmp_path, str(config), "not valid YAML", "line 3")


def test_an_unknown_key_in_a_yaml_file_names_the_file_and_the_key(scenario: Path, tmp_path: Path):
    config = tmp_path / "typo.yaml"
    config.write_text("train:\n  epochs: 3\n  lerning_rate: 0.1\n")

    result = _train(scenario, tmp_path, "--config", str(config))

    _assert_one_sentence_before_any_write(result, tmp_path, str(config), "'train.lerning_rate'")


def test_a_bad_key_in_an_experiment_names_its_experiment_key(tmp_path: Path):
    override = "students=[{name: cam, run: {kd: {terms: {task: {gama: 2}}}}}]"

    result = runner.invoke(app, ["demo", "--quick", "--out", str(tmp_path / "run"), "--set", override])

    assert result.exit_code == 2 and "'students[0].run.kd.terms.task.gama'" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_bad_model_in_a_collab_config_names_its_key(scenario: Path, tmp_path: Path):
    config = Path(__file__).resolve().parents[2] / "configs" / "collab" / "default.yaml"
    args = ["collab", "--config", str(config), "--scenario", str(scenario), "--out", str(tmp_path / "run")]

    result = runner.invoke(app, [*args, "--set", "student.architecture=foo"])

    assert result.exit_code == 2 and "'student.architecture'" in result.stderr, result.output
    assert "unknown architecture 'foo'" in result.stderr and not (tmp_path / "run").exists()
