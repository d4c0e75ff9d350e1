"""The README stays true to the code: every policy rule is listed, every relative link resolves."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_policy_rule_is_listed_with_its_control_and_level():
    sys.path.insert(0, str(ROOT / "policy"))
    from deepseek_policies import ALL_POLICIES

    for policy in ALL_POLICIES:
        control = policy.description.split(": ", 1)[0]
        row = next((line for line in README.splitlines() if line.startswith(f"| `{policy.name}` |")), None)
        assert row is not None, policy.name
        assert f"| {control} | {policy.enforcement_level.value} |" in row, policy.name


def test_relative_links_resolve():
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README):
        assert (ROOT / target).exists(), target


def test_readme_opens_with_the_two_commands():
    head = README[:600]
    assert "make plan" in head and "make test" in head
