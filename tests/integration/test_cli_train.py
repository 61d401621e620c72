"""`kdcs train | distill | evaluate` on a tiny generated scenario, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdcs.cli.main import app
from tests.fixtures.scenario_factory import make_scenario
from tests.fixtures.training import TINY_RUN_OVERRIDES

runner = CliRunner()
FAST = list(TINY_RUN_OVERRIDES)


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scn")
    return make_scenario(
        root / "s", num_sequences=10, sequence_length=12, modalities=("power", "gps", "beam")
    )


@pytest.fixture(scope="module")
def teacher(scenario: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "teacher"
    args = ["train", "--scenario", str(scenario), "--out", str(out), "--json"]
    args += sets(
        *FAST,
        f"data.cache_root={out.parent / 'cache'}",
        "model.architecture=gps-beam-student",
        "model.hidden=32",
    )
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_train_prints_metrics_json(teacher: Path):
    metrics = json.loads((teacher / "metrics.json").read_text())
    assert metrics["architecture"] == "gps-beam-student" and metrics["epochs_run"] == 2


def test_distill_and_evaluate(scenario: Path, teacher: Path, tmp_path: Path):
    out = tmp_path / "student"
    args = [
        "distill",
        "--teacher",
        str(teacher),
        "--recipe",
        "logit",
        "--scenario",
        str(scenario),
        "--out",
        str(out),
    ]
    args += sets(*FAST, f"data.cache_root={teacher.parent / 'cache'}", "model.architecture=gps-beam-student")
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "logit-kd" in result.output and "test" in result.output
    evaluated = runner.invoke(app, ["evaluate", "--model", str(out), "--json"], catch_exceptions=False)
    assert evaluated.exit_code == 0, evaluated.output
    result_json = json.loads(evaluated.stdout)
    saved = json.loads((out / "metrics.json").read_text())
    assert result_json["metrics"]["top1"] == saved["test"]["top1"]  # same weights, same windows
    assert result_json["complexity"]["parameters"]["deployable"] > 0


def test_unknown_key_and_missing_teacher_are_one_line_errors(scenario: Path, tmp_path: Path):
    bad_key = runner.invoke(app, ["train", "--scenario", str(scenario), *sets("train.epoks=3")])
    assert bad_key.exit_code == 2 and "train.epoks" in bad_key.output
    no_teacher = runner.invoke(
        app, ["distill", "--teacher", str(tmp_path / "none"), "--scenario", str(scenario)]
    )
    assert no_teacher.exit_code == 2 and "does not exist" in no_teacher.output


def test_export_then_track_replays_the_scenario(scenario: Path, teacher: Path, tmp_path: Path):
    exported = runner.invoke(app, ["export", "--model", str(teacher), "--out", str(tmp_path / "onnx"), "--json"])
    assert exported.exit_code == 0, exported.output
    summary = json.loads(exported.stdout)
    assert summary["architecture"] == "gps-beam-student" and (tmp_path / "onnx" / "model.onnx").is_file()
    # parity and int8 agreement are measured on the run's own test split, not on random tensors
    assert summary["parity"]["inputs"].startswith("test split of ")
    assert 0.0 <= summary["parity"]["int8_top1_agreement_with_fp32"] <= 1.0
    tracked = runner.invoke(
        app,
        [
            "track",
            "--scenario",
            str(scenario),
            "--model",
            str(tmp_path / "onnx"),
            "--out",
            str(tmp_path / "p.csv"),
            "--json",
        ],
    )
    assert tracked.exit_code == 0, tracked.output
    replay = json.loads(tracked.stdout)
    assert replay["slots"] == 120 and replay["predictions"] > 0
    assert replay["latency_ms"]["median"] > 0 and (tmp_path / "p.csv").is_file()


def test_export_on_random_inputs_when_asked(teacher: Path, tmp_path: Path):
    args = ["export", "--model", str(teacher), "--out", str(tmp_path / "onnx"), "--parity-split", "none", "--json"]
    exported = runner.invoke(app, args)
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["parity"]["inputs"] == "random inputs"
    wrong = runner.invoke(app, [*args[:5], "--parity-split", "tset"])
    assert wrong.exit_code == 2 and "--parity-split" in wrong.output


def test_export_refuses_a_corrupt_checkpoint(tmp_path: Path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    result = runner.invoke(app, ["export", "--model", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "bad.safetensors" in result.output
    assert not (tmp_path / "o").exists()


def test_evaluate_overrides_are_rooted_as_train_s_and_old_spellings_still_work(teacher: Path):
    new = runner.invoke(app, ["evaluate", "--model", str(teacher), *sets("data.skip_bad_rows=false"), "--json"])
    old = runner.invoke(app, ["evaluate", str(teacher), *sets("skip_bad_rows=false"), "--json"])
    model_key = runner.invoke(app, ["evaluate", "--model", str(teacher), *sets("model.hidden=8")])

    assert new.exit_code == 0 and old.exit_code == 0, new.output + old.output
    assert json.loads(old.stdout)["metrics"] == json.loads(new.stdout)["metrics"]
    assert "use --model" in old.stderr and "use --set data.skip_bad_rows=..." in old.stderr
    assert "deprecated" not in new.stderr
    assert model_key.exit_code == 2 and "unknown config key 'model'" in model_key.stderr
