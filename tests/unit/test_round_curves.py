"""curves.png of a collaboration run: each node's accuracy against the uplink it has sent so far."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdcs.experiments.report.plots.accuracy import uplink_curve
from kdcs.experiments.report.plots.round_curves import node_curves, plot_round_curves

HEADER = "round,node,status,val_top1,val_top5,down_bytes,up_bytes,seconds,reason\n"


def write_rounds(folder: Path, rows: list[str]) -> Path:
    path = folder / "rounds.csv"
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def test_bytes_accumulate_per_node_and_a_missed_round_adds_no_point(tmp_path):
    # Prepare: n2 misses round 2 (its bytes still count: the reply was sent, then rejected)
    path = write_rounds(
        tmp_path,
        [
            "2,n1,ok,0.30,0.80,10,100,1.0,",
            "1,n1,ok,0.20,0.70,10,100,1.0,",
            "1,n2,ok,0.10,0.50,10,50,1.0,",
            "2,n2,rejected,,,10,50,1.0,garbage",
            "3,n2,ok,0.15,0.60,10,50,1.0,",
        ],
    )

    # Execute
    curves = node_curves(path)

    # Assert
    assert curves["n1"].rounds == [1, 2] and curves["n1"].uplink == [100.0, 200.0]
    assert curves["n1"].top1 == [0.20, 0.30] and curves["n1"].top5 == [0.70, 0.80]
    assert curves["n2"].rounds == [1, 3] and curves["n2"].uplink == [50.0, 150.0]
    assert curves["n2"].top1 == pytest.approx([0.10, 0.15])


@pytest.mark.parametrize("up", [0, 100])
def test_the_plot_is_a_png_in_the_run_folder_with_or_without_uplink(tmp_path, up):
    write_rounds(tmp_path, [f"1,n1,ok,0.2,0.7,10,{up},1.0,", f"2,n1,ok,0.3,0.8,10,{up},1.0,"])

    path = plot_round_curves(tmp_path, "local-only" if up == 0 else "fed-distill")

    assert path == tmp_path / "curves.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_study_curve_sums_every_nodes_bytes_and_averages_the_replies_of_each_round(tmp_path):
    # Prepare: two study nodes and one outside the run; n2's round-2 reply was rejected
    write_rounds(
        tmp_path,
        [
            "1,n1,ok,0.20,0.70,10,100,1.0,",
            "1,n2,ok,0.40,0.90,10,50,1.0,",
            "1,other,ok,0.99,0.99,10,1000,1.0,",
            "2,n1,ok,0.30,0.80,10,100,1.0,",
            "2,n2,rejected,,,10,50,1.0,garbage",
        ],
    )

    # Execute
    xs, ys = uplink_curve({"run_dir": str(tmp_path), "nodes": {"n1": {}, "n2": {}}})

    # Assert: cumulative uplink of n1 + n2 only; round 2's mean is n1's alone
    assert xs == [150.0, 300.0]
    assert ys == pytest.approx([0.30, 0.30])


def test_a_run_without_rounds_csv_has_no_study_curve(tmp_path):
    assert uplink_curve({"run_dir": str(tmp_path), "nodes": {}}) == ([], [])
