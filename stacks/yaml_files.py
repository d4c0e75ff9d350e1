"""YAML files (project config, catalog, prices), parsed with libyaml's C loader where PyYAML has it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # several times faster than the pure-Python loader


class YamlFileError(pulumi.RunError):
    """A YAML file that does not parse: one line, `<file>:<line>:<column>: <problem>`. A RunError, so
    Pulumi prints it without a traceback; `make plan` prints it alone."""

    def __init__(self, path: Path, problem: str, line: int | None = None, column: int | None = None):
        self.path, self.problem, self.line, self.column = path, problem, line, column
        where = _shown(path) + (f":{line}:{column}" if line is not None else "")
        super().__init__(f"{where}: {problem}")


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def read_yaml(path: Path) -> Any:
    try:
        return yaml.load(Path(path).read_text(), Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(x for x in (exc.context, exc.problem) if x) or "not valid YAML"
        # PyYAML's marks count from 0; editors and compilers count lines and columns from 1.
        raise YamlFileError(path, f"YAML syntax error: {problem}", mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise YamlFileError(path, f"YAML error: {exc}") from None


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file whose top level must be a mapping (an empty file is an empty one)."""
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise YamlFileError(path, f"the top level must be a mapping of keys, not a {type(data).__name__}", 1, 1)
    return data
