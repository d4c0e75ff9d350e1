"""A YAML file that does not parse is one line with file, line and column: in `make plan`, `make policy`
and the program (a pulumi.RunError, which Pulumi prints without a traceback: pulumi/errors.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pulumi
import pytest

from offline import plan, policy_check
from offline.harness import ROOT, stack_config
from stacks.config import project_defaults
from stacks.yaml_files import YamlFileError

# Line 3, column 34 (the second colon): a second `key: value` on one line, a mistake a hand edit makes.
BAD = "config:\n  aws:region: us-east-1\n  deepseek-cloud:environment: dev: x\n"


def test_plan_with_a_bad_stack_file_prints_one_line(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(BAD)
    assert plan.main(["--stack", "dev", "--stack-file", str(stack_file)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"{stack_file}:3:34: YAML syntax error: mapping values are not allowed in this context"]
    assert "Traceback" not in err


def test_policy_with_a_bad_stack_file_prints_one_line(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text("config:\n  aws:region: [us-east-1\n")
    assert policy_check.main(["--stack", "dev", "--stack-file", str(stack_file)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{stack_file}:3:1: YAML syntax error: while parsing a flow sequence")


def test_bad_project_file_names_its_line_and_column(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(ROOT / "Pulumi.dev.yaml", root)
    text = (ROOT / "Pulumi.yaml").read_text().replace("  deepseek-cloud:model:\n", "  deepseek-cloud:model\n", 1)
    assert text != (ROOT / "Pulumi.yaml").read_text()
    (root / "Pulumi.yaml").write_text(text)
    line = text[: text.index("  deepseek-cloud:model\n")].count("\n") + 1
    with pytest.raises(YamlFileError) as caught:
        stack_config("dev", root=root)
    assert caught.value.path == root / "Pulumi.yaml"
    assert caught.value.line in (line, line + 1)  # libyaml marks where the bad mapping is detected
    # The program reads the same file for its defaults: a RunError, printed by Pulumi without a traceback.
    with pytest.raises(pulumi.RunError, match=r"Pulumi\.yaml:\d+:\d+: YAML syntax error: "):
        project_defaults(root / "Pulumi.yaml")


def test_a_stack_file_that_is_not_a_mapping(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text("- aws:region: us-east-1\n")
    assert plan.main(["--stack", "dev", "--stack-file", str(stack_file)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{stack_file}:1:1: the top level must be a mapping of keys, not a list"
    ]


def test_shipped_yaml_files_parse():
    for path in sorted(Path(ROOT).glob("Pulumi*.yaml")):
        assert isinstance(stack_config("dev", stack_file=path), dict)
