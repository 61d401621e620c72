"""`kdcs distill`: a training run with a teacher and a named KD recipe (see `kdcs.jobs.train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdcs.jobs.train import train


def distill(
    teacher: Path,
    recipe: str,
    config_path: Path | None,
    overrides: list[str],
    *,
    out: Path | None = None,
    resume: bool = False,
    workers: int | None = None,
) -> tuple[Path, dict[str, Any]]:
    """`kdcs train` with `kd.teacher` and `kd.recipe` set after the other overrides."""
    kd = [f"kd.teacher={teacher}", f"kd.recipe={recipe}"]
    return train(config_path, [*overrides, *kd], out=out, resume=resume, workers=workers)
