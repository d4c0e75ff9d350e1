"""YAML files (project config, catalog, prices), parsed with libyaml's C loader where PyYAML has it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # several times faster than the pure-Python loader


def read_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_LOADER)
