"""Faults a user meets on the command line: each is one sentence, exit code 2, and leaves nothing
half-written or changed (a full disk is a real 256 KiB tmpfs, a read-only folder a read-only tmpfs,
where the machine allows mounting them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdcs.cli.main import app
from tests.fixtures.scenario_factory import cell_file, make_scenario, text_in_gps, wrong_radar_shape
from tests.integration.test_cli_train import (
    FAST,
    scenario,  # noqa: F401 (a fixture)
    sets,
    teacher,  # noqa: F401 (a fixture)
)

runner = CliRunner()


def refused(result, *words: str) -> str:
    """The one error sentence of a refused command (exit code 2), checked for `words`."""
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert result.exit_code == 2, result.output
    assert len(errors) == 1 and "Traceback" not in result.output, result.output  # (a warning may precede it)
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def train_args(folder: Path, out: Path, *extra: str) -> list[str]:
    cache = f"data.cache_root={folder.parent / 'cache'}"
    student = "model.architecture=gps-beam-student"
    return ["train", "--scenario", str(folder), "--out", str(out), *sets(*FAST, cache, student, *extra)]


@pytest.fixture(scope="module")
def other_scenario(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("other")
    return make_scenario(root / "s", num_sequences=6, sequence_length=9, modalities=("power", "gps", "beam"))


def test_a_refused_train_leaves_the_run_folder_as_it_was(teacher, other_scenario):  # noqa: F811
    before = snapshot(teacher)
    student = ("model.architecture=gps-beam-student",)

    again = runner.invoke(app, train_args(other_scenario, teacher, *student, "model.hidden=32"))
    wider = runner.invoke(
        app, [*train_args(other_scenario, teacher, *student, "model.hidden=64"), "--resume"]
    )

    refused(again, "already holds a checkpoint", "--resume")
    refused(wider)
    assert snapshot(teacher) == before  # config.yaml still names the run's own scenario


def test_a_model_reading_a_sensor_the_scenario_lacks_is_named(scenario, tmp_path):  # noqa: F811
    result = runner.invoke(app, train_args(scenario, tmp_path / "run", "model.architecture=ds-student"))

    refused(result, "'model.architecture': ds-student reads 'camera_motion'", "it has power, gps")
    assert not (tmp_path / "run").exists()


def test_a_radar_cube_of_another_shape_stops_prepare(tmp_path):
    folder = make_scenario(tmp_path / "ap1", num_sequences=2, sequence_length=5, modalities=("radar", "beam"))
    wrong_radar_shape(folder, 4, shape=(4, 16, 8))

    result = runner.invoke(
        app, ["data", "prepare", "--scenario", str(folder), "--out", str(tmp_path / "cache")]
    )

    refused(result, "line 4", "'unit1_radar'", "(4, 16, 8)", "(4, 32, 8)")
    assert not (tmp_path / "cache").exists()


def test_a_full_disk_stops_prepare_and_train_with_nothing_left(scenario, full_disk, tmp_path):  # noqa: F811
    cameras = make_scenario(
        tmp_path / "ap1", num_sequences=2, sequence_length=6, modalities=("camera", "beam")
    )
    prepare = runner.invoke(
        app,
        [
            "data",
            "prepare",
            "--scenario",
            str(cameras),
            "--out",
            str(full_disk),
            "--set",
            "camera_size=[128,128]",
        ],
    )
    train = runner.invoke(app, train_args(scenario, full_disk / "run", "model.hidden=512"))

    refused(prepare, "needs", "MB are free")
    refused(train, "one training epoch needs", "MB are free")
    assert list(full_disk.iterdir()) == []


def test_a_read_only_folder_is_one_sentence_for_every_writer(scenario, teacher, read_only):  # noqa: F811
    results = {
        "synth": runner.invoke(app, ["data", "synth", "--out", str(read_only / "s"), "--quick"]),
        "prepare": runner.invoke(
            app, ["data", "prepare", "--scenario", str(scenario), "--out", str(read_only)]
        ),
        "train": runner.invoke(app, train_args(scenario, read_only / "run")),
        "export": runner.invoke(app, ["export", "--model", str(teacher), "--out", str(read_only / "onnx")]),
    }

    for name, result in results.items():
        assert "read-only" in refused(result), name
    assert list(read_only.iterdir()) == []


def test_prepare_says_why_it_skipped_each_row(tmp_path):
    folder = make_scenario(tmp_path / "ap1", num_sequences=2, sequence_length=5, modalities=("gps", "beam"))
    text_in_gps(folder, 4)
    args = ["data", "prepare", "--scenario", str(folder), "--out", str(tmp_path / "cache"), "--skip-bad-rows"]

    shown = runner.invoke(app, args)
    listed = runner.invoke(app, [*args, "--json"])

    assert shown.exit_code == 0, shown.output
    assert "skipped 1 bad rows" in shown.output
    assert "CSV line 4 (unit2_loc_cal): " in shown.output and "holds text" in shown.output
    [row] = json.loads(listed.stdout)[0]["skipped_rows"]
    assert row["csv_row"] == 4 and row["column"] == "unit2_loc_cal" and "holds text" in row["reason"]


def test_prepare_skips_a_row_whose_file_fails_only_at_decoding(tmp_path):
    folder = make_scenario(tmp_path / "ap1", num_sequences=2, sequence_length=6, modalities=("radar", "beam"))
    radar = cell_file(folder, 5, "unit1_radar")
    radar.write_bytes(
        radar.read_bytes()[: radar.stat().st_size * 2 // 3]
    )  # header intact: the reader passes it
    args = ["data", "prepare", "--scenario", str(folder), "--out", str(tmp_path / "cache"), "--json"]

    refused(runner.invoke(app, args), "line 5", "'unit1_radar': cannot decode radar file")
    skipped = runner.invoke(app, [*args, "--skip-bad-rows"])

    assert skipped.exit_code == 0, skipped.output
    [result] = json.loads(skipped.stdout)
    [row] = result["skipped_rows"]
    assert result["samples"] == 11 and row["csv_row"] == 5 and row["column"] == "unit1_radar"
    assert "cannot decode radar file" in row["reason"]


def test_errors_speak_the_command_line_not_python(scenario, teacher, tmp_path):  # noqa: F811
    root = tmp_path / "root"
    for ap in ("ap1", "ap2"):
        make_scenario(root / ap, num_sequences=2, sequence_length=5, modalities=("gps", "beam"))

    synth_again = runner.invoke(app, ["data", "synth", "--out", str(root), "--quick"])
    no_ap = runner.invoke(app, train_args(root, tmp_path / "run"))
    bad_policy = runner.invoke(
        app, ["track", "--scenario", str(scenario), "--model", str(teacher), "--missing", "guess"]
    )

    refused(synth_again, "is not empty; add --overwrite")
    refused(no_ap, "holds 2 scenarios ['ap1', 'ap2']; choose one with --ap")
    refused(bad_policy, "--missing must be one of hold, zero, got 'guess'")
    assert not (tmp_path / "run").exists()


def test_track_prints_sentences_not_dicts(scenario, teacher):  # noqa: F811
    result = runner.invoke(
        app, ["track", "--scenario", str(scenario), "--model", str(teacher), "--backend", "torch"]
    )

    assert result.exit_code == 0, result.output
    assert "{" not in result.output and "missing readings: gps 0, beam_history 0" in result.output
