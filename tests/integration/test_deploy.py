"""Integration tests of kdcs.deploy.replay (`kdcs track`): a scenario folder replayed slot by slot."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from kdcs.data.cache.build import prepare
from kdcs.data.deepsense.reader import read_scenario
from kdcs.data.preprocess import PreprocessConfig
from kdcs.data.windows import WindowBatcher, WindowSpec, build_windows
from kdcs.deploy import replay
from kdcs.models import ModelConfig, build_model
from kdcs.models.weights import save_model_weights
from tests.fixtures.scenario_factory import delete_file, garble_image, make_scenario, text_in_gps
from tests.unit.test_export import trained_export

MODALITIES = ("camera_motion", "gps", "beam_history")
HISTORY, HORIZON, SIZE = 4, 1, (16, 16)


@pytest.fixture(scope="module")
def scenario_and_student(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy-replay")
    folder = make_scenario(
        root / "scenario", num_sequences=2, sequence_length=9, modalities=("camera", "gps", "beam")
    )
    torch.manual_seed(0)
    config = ModelConfig(
        architecture="ds-student", modalities=MODALITIES, image_size=SIZE, history=HISTORY, horizon=HORIZON,
        depthwise_channels=(4, 8), dropout=0.0,
    )  # fmt: skip
    model = build_model(config).eval()
    save_model_weights(root / "student.safetensors", model)
    return folder, root / "student.safetensors", model


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_replay_predicts_what_the_window_model_predicts_on_the_cache(scenario_and_student, tmp_path):
    folder, weights, model = scenario_and_student
    cache = prepare(read_scenario(folder), tmp_path / "cache", PreprocessConfig(camera_size=SIZE), workers=1)
    spec = WindowSpec(HISTORY, HORIZON)
    batch = next(
        iter(WindowBatcher(cache, build_windows(cache.arrays["seq_index"], spec), spec, MODALITIES, 999))
    )
    with torch.inference_mode():
        expected = model({m: batch[m] for m in MODALITIES}).logits.numpy()  # [W, J+1, C]

    summary = replay(folder, weights, backend="torch", out_csv=tmp_path / "track.csv", top_k=3)

    rows = _rows(tmp_path / "track.csv")
    assert summary["slots"] == len(rows) == 18 and summary["predictions"] == 2 * (9 - HISTORY + 1)
    for window, end in enumerate(batch["window_end"].tolist()):
        for slot in range(HORIZON + 1):
            ranked = np.argsort(-expected[window, slot])[:3].tolist()
            assert rows[end][f"top_k_t{slot}"] == " ".join(map(str, ranked)), (end, slot)
    assert summary["latency_ms"]["median"] > 0 and summary["tracker"]["missing"] == dict.fromkeys(
        MODALITIES, 0
    )


def test_dropped_and_undecodable_inputs_are_counted_and_the_stream_goes_on(scenario_and_student, tmp_path):
    folder, weights, _ = scenario_and_student
    broken = tmp_path / "scenario"
    make_scenario(broken, num_sequences=2, sequence_length=9, modalities=("camera", "gps", "beam"))
    garble_image(broken, csv_row=5)

    summary = replay(
        broken, weights, backend="torch", out_csv=tmp_path / "track.csv", drop_rate={"gps": 0.4}, seed=1,
        missing_policy="zero",
    )  # fmt: skip

    rows = _rows(tmp_path / "track.csv")
    gps_dropped = sum("gps" in row["missing"].split(";") for row in rows)
    assert 0 < gps_dropped < 18 and summary["tracker"]["missing"]["gps"] == gps_dropped
    assert summary["decode_failures"]["camera"] == 1
    assert "camera_motion" in rows[3]["missing"]  # CSV line 5 = data row 4
    assert summary["tracker"]["zeroed"] == gps_dropped + 1 and summary["slots"] == 18


def test_an_unreadable_gps_file_or_a_missing_image_is_one_missing_reading(scenario_and_student, tmp_path):
    # Prepare: text in CSV line 5's GPS file, CSV line 7's image deleted
    _, weights, _ = scenario_and_student
    broken = make_scenario(
        tmp_path / "scenario", num_sequences=2, sequence_length=9, modalities=("camera", "gps", "beam")
    )
    text_in_gps(broken, csv_row=5)
    delete_file(broken, 7, "unit1_rgb")

    # Execute
    summary = replay(broken, weights, backend="torch", out_csv=tmp_path / "track.csv", missing_policy="hold")

    # Assert: the replay went on; those readings were held and counted
    rows = _rows(tmp_path / "track.csv")
    assert summary["slots"] == 18 and summary["decode_failures"]["gps"] == 1
    assert summary["decode_failures"]["camera"] == 1 and summary["tracker"]["held"] >= 2
    assert "gps" in rows[3]["missing"].split(";") and "camera_motion" in rows[5]["missing"].split(";")


def test_onnx_and_torch_replays_agree(tmp_path_factory, tmp_path):
    _, export_dir, _ = trained_export(tmp_path_factory)
    folder = make_scenario(tmp_path / "gps", num_sequences=2, sequence_length=8, modalities=("gps", "beam"))

    onnx_summary = replay(folder, export_dir, backend="onnx", out_csv=tmp_path / "onnx.csv")
    torch_summary = replay(folder, export_dir, backend="torch", out_csv=tmp_path / "torch.csv")

    onnx_rows, torch_rows = _rows(tmp_path / "onnx.csv"), _rows(tmp_path / "torch.csv")
    assert onnx_summary["backend"] == "onnx" and torch_summary["backend"] == "torch"
    assert [r["top_k_t0"] for r in onnx_rows] == [r["top_k_t0"] for r in torch_rows]
    assert onnx_summary["predictions"] == torch_summary["predictions"] > 0
