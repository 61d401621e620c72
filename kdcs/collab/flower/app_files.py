"""The Flower App of a run: a pyproject.toml whose components are this package's apps.

`flwr run` packs the app folder into a FAB and the SuperLink and SuperNodes load its components
by module path, from the Python environment they run in (kdcs is installed there; runtime
dependency installation is off, so nothing is installed for the app). The run's config path goes
into the app's run config, so the ServerApp and ClientApps know which run they serve.
"""

from __future__ import annotations

from pathlib import Path

from kdcs.atomic_files import write_text_atomically
from kdcs.collab.flower.edge_node import COLLAB_CONFIG

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "kdcs-collab"
version = "1.0.0"
description = "kdcs collaboration protocols on Flower (the apps live in the installed kdcs package)"
license = "Apache-2.0"
dependencies = []

[tool.flwr.app]
publisher = "kdcs"

[tool.flwr.app.components]
serverapp = "kdcs.collab.flower.server_app:app"
clientapp = "kdcs.collab.flower.client_app:app"

[tool.flwr.app.config]
{key} = {value}
"""


def write_flower_app(app_dir: Path, config_path: Path) -> Path:
    app_dir.mkdir(parents=True, exist_ok=True)
    text = PYPROJECT.format(key=COLLAB_CONFIG, value=toml_literal(str(Path(config_path).resolve())))
    write_text_atomically(app_dir / "pyproject.toml", text)
    return app_dir


def toml_literal(text: str) -> str:
    """A TOML literal string (no escapes), as Flower's key=value parser also reads them."""
    if "'" in text or "\n" in text:
        raise ValueError(f"the run folder path {text!r} must not hold a quote or a newline (Flower config)")
    return f"'{text}'"
