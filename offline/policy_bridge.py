"""Run the policy pack rules over a planned stack, as `pulumi preview --policy-pack policy` would."""

from __future__ import annotations

import sys
from pathlib import Path

from offline.harness import ProgramRun

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"


def planned_resources(run: ProgramRun) -> list[dict]:
    return [
        {"type": r.type, "name": r.name, "urn": r.urn, "parent": r.parent, "inputs": r.inputs, "outputs": r.outputs}
        for r in run.registrations
    ]


def check_planned_resources(run: ProgramRun, environment: str) -> dict:
    if str(POLICY_DIR) not in sys.path:
        sys.path.insert(0, str(POLICY_DIR))
    from deepseek_policies.report import check

    return check(planned_resources(run), environment)
