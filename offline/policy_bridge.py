"""Run the policy pack rules over a planned stack, as `pulumi preview --policy-pack policy` would."""

from __future__ import annotations

import sys
from pathlib import Path

from offline.harness import ProgramRun, tree_order

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"


def planned_resources(run: ProgramRun) -> list[dict]:
    return [
        {
            "type": r.type,
            "name": r.name,
            "urn": r.urn,
            "parent": r.parent,
            "inputs": r.inputs,
            "outputs": r.outputs,
            "propertyDependencies": r.property_dependencies,
        }
        for r in tree_order(run.registrations)
    ]


def _importable() -> None:
    if str(POLICY_DIR) not in sys.path:
        sys.path.insert(0, str(POLICY_DIR))


def waivers_relied_on(run: ProgramRun, environment: str) -> list[tuple[str, str, str]]:
    """(control id, standard, reason) of every waiver in the control table that this planned stack relies
    on: the control applies to a planned resource type and the waiver covers the environment."""
    _importable()
    from deepseek_policies import controls

    types = {r.type for r in run.registrations if r.custom}
    return [(c.id, c.standard, w.reason) for c, w in controls.waivers_relied_on(environment, types)]


def check_planned_resources(run: ProgramRun, environment: str) -> dict:
    _importable()
    from deepseek_policies.report import check

    return check(planned_resources(run), environment)
