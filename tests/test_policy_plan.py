"""The policy pack over each shipped stack's plan (the `make plan` / `make policy` path)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from offline.harness import ROOT, shared_run, stack_config, stack_names
from offline.policy_bridge import check_planned_resources
from offline.policy_check import main as policy_main


@pytest.mark.parametrize("stack", stack_names())
def test_every_shipped_stack_has_zero_mandatory_violations(stack):
    run = shared_run(stack)
    result = check_planned_resources(run, stack_config(stack)["deepseek-cloud:environment"])
    assert result["mandatory"] == []


def test_make_policy_fails_on_a_prod_stack_without_on_demand_base(tmp_path: Path):
    broken = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    broken["config"]["deepseek-cloud:gpuPool"]["spot"]["onDemandBaseCapacity"] = 0
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert policy_main(["--stack", "broken", "--stack-file", str(path)]) == 1
    run = shared_run("prod", {"deepseek-cloud:gpuPool.spot.onDemandBaseCapacity": 0})  # the same config as a run
    names = {v["policy"] for v in check_planned_resources(run, "prod")["mandatory"]}
    assert "gpu-pool-prod-on-demand-base" in names
