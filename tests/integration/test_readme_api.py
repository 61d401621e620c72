"""README.md's Python API example runs as written (in a scratch working folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def api_example() -> str:
    section = README.read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_python_api_example_runs(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    exec(compile(api_example(), f"{README}:Python API", "exec"), {})  # noqa: S102 - the README's own code

    printed = capsys.readouterr().out.splitlines()
    assert (tmp_path / "runs" / "notebook" / "student" / "metrics.json").is_file()
    assert (tmp_path / "runs" / "notebook" / "fed-distill" / "results.json").is_file()
    assert 0.0 <= float(printed[1]) <= 1.0 and len(printed) == 3
