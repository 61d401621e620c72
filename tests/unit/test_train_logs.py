"""Progress when output is not a terminal: one plain line per epoch, with elapsed and remaining time."""

from __future__ import annotations

import re

from kdcs.distill.composer import build_composer
from kdcs.distill.train_logs import duration
from kdcs.distill.trainer import Trainer
from tests.fixtures.training import make_batchers, quick_config, tiny_model


def test_one_line_per_epoch_with_elapsed_and_estimated_time(tmp_path, capsys):
    train, val, _ = make_batchers()
    config = quick_config(epochs=3, progress=True)

    Trainer(tiny_model(), build_composer({"ce": {"weight": 1.0}}), train, val, config, tmp_path).fit()

    lines = capsys.readouterr().err.splitlines()
    number = r"\d+\.\d{4}"
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        pattern = rf"epoch {epoch}/3: train loss {number}, val loss {number}, val top-1 {number}; elapsed \d+ s"
        assert re.fullmatch(pattern + (r", at most \d+ s left" if epoch < 3 else ""), line), line


def test_no_lines_when_progress_is_off(tmp_path, capsys):
    train, val, _ = make_batchers()

    Trainer(tiny_model(), build_composer({"ce": {"weight": 1.0}}), train, val, quick_config(), tmp_path).fit()

    assert capsys.readouterr().err == ""


def test_durations_read_as_a_person_says_them():
    assert [duration(s) for s in (0.4, 42, 185, 7620)] == ["0 s", "42 s", "3 min 05 s", "2 h 07 min"]
