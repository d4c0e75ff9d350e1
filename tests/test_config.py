"""Bad stack config: every problem reported before any resource is declared, one line each."""

from __future__ import annotations

import pytest

from offline.harness import run_program, shared_run
from stacks.errors import ConfigError


def problems_for(overrides: dict, stack: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        run_program(stack, overrides=overrides)
    return [str(p) for p in caught.value.problems]


def only_line(lines: list[str], path: str) -> str:
    matching = [line for line in lines if line.startswith(f"{path}: ")]
    assert len(matching) == 1, f"expected one line for {path}, got {lines}"
    return matching[0]


def test_valid_dev_stack_loads_and_declares_resources():
    run = shared_run("dev")
    assert run.outputs["sizing"]["model"] == "deepseek-r1-distill-qwen-7b"
    assert len(run.registrations) > 10


def test_nothing_is_declared_when_config_is_bad():
    with pytest.raises(ConfigError):
        run_program("dev", overrides={"deepseek-cloud:gpuPool.minSize": 9})
    from pulumi.runtime import settings

    monitor = settings.SETTINGS.monitor
    assert monitor.registrations == []


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        ({"deepseek-cloud:bogus": 1}, "deepseek-cloud:bogus", "unknown key"),
        (
            {"deepseek-cloud:gpuPool.spot.enabeld": True},
            "deepseek-cloud:gpuPool.spot.enabeld",
            "did you mean 'enabled'",
        ),
        ({"deepseek-cloud:model.maxModelLen": "8k"}, "deepseek-cloud:model.maxModelLen", "wrong type"),
        ({"deepseek-cloud:model.name": "deepseek-r2"}, "deepseek-cloud:model.name", "unknown model"),
        (
            {"deepseek-cloud:gpuPool.instanceTypes": ["g6e.xlarg"]},
            "deepseek-cloud:gpuPool.instanceTypes[0]",
            "did you mean 'g6e.xlarge'",
        ),
        (
            {"deepseek-cloud:gpuPool.instanceTypes": ["m7i.large"]},
            "deepseek-cloud:gpuPool.instanceTypes[0]",
            "has no NVIDIA GPU",
        ),
        (
            {"deepseek-cloud:gpuPool.instanceTypes": ["g5g.xlarge", "g5.xlarge"]},
            "deepseek-cloud:gpuPool.instanceTypes",
            "mixes CPU architectures",
        ),
        ({"deepseek-cloud:gpuPool.minSize": 3}, "deepseek-cloud:gpuPool.minSize", "larger than gpuPool.maxSize"),
        (
            {"deepseek-cloud:scaling.minReplicas": 3},
            "deepseek-cloud:scaling.minReplicas",
            "larger than scaling.maxReplicas",
        ),
        (
            {"deepseek-cloud:gpuPool.spot.onDemandPercentageAboveBaseCapacity": 101},
            "deepseek-cloud:gpuPool.spot.onDemandPercentageAboveBaseCapacity",
            "allowed: 0–100",
        ),
        (
            {"deepseek-cloud:gpuPool.spot.onDemandPercentageAboveBaseCapacity": -1},
            "deepseek-cloud:gpuPool.spot.onDemandPercentageAboveBaseCapacity",
            "allowed: 0–100",
        ),
        ({"deepseek-cloud:scaling.targetQpsPerReplica": 0}, "deepseek-cloud:scaling.targetQpsPerReplica", "> 0"),
        ({"deepseek-cloud:scaling.targetQpsPerReplica": -5}, "deepseek-cloud:scaling.targetQpsPerReplica", "> 0"),
        ({"deepseek-cloud:model.gpuMemoryUtilization": 0}, "deepseek-cloud:model.gpuMemoryUtilization", "(0, 1]"),
        ({"deepseek-cloud:model.gpuMemoryUtilization": 1.2}, "deepseek-cloud:model.gpuMemoryUtilization", "(0, 1]"),
        ({"deepseek-cloud:network.cidr": "10.40.0.0/33"}, "deepseek-cloud:network.cidr", "not a valid IPv4 CIDR"),
        ({"deepseek-cloud:network.cidr": "8.8.0.0/16"}, "deepseek-cloud:network.cidr", "not a private address range"),
        ({"deepseek-cloud:network.azCount": 7}, "deepseek-cloud:network.azCount", "allowed: 2–6"),
        (
            {"aws:region": "eu-west-1", "deepseek-cloud:network.azCount": 4},
            "deepseek-cloud:network.azCount",
            "has only 3",
        ),
        ({"deepseek-cloud:environment": "production"}, "deepseek-cloud:environment", "allowed: dev, staging, prod"),
        ({"deepseek-cloud:platform": "k8s"}, "deepseek-cloud:platform", "allowed: ecs, eks"),
        ({"aws:region": "us-east-9"}, "aws:region", "did you mean 'us-east-2'"),
        ({"deepseek-cloud:model.maxModelLen": 200000}, "deepseek-cloud:model.maxModelLen", "context window"),
        (
            {"deepseek-cloud:gpuPool.spot.spotAllocationStrategy": "cheapest"},
            "deepseek-cloud:gpuPool.spot.spotAllocationStrategy",
            "price-capacity-optimized",
        ),
        ({"deepseek-cloud:tags.aws:team": "x"}, "deepseek-cloud:tags.aws:team", "reserved"),
    ],
)
def test_each_bad_value_names_its_key_path(overrides, path, fragment):
    line = only_line(problems_for(overrides), path)
    assert fragment in line
    assert "(got " in line


def test_az_count_is_checked_against_the_regions_recorded_azs():
    # us-east-2 has three AZs in the recorded DescribeAvailabilityZones data.
    line = only_line(
        problems_for({"aws:region": "us-east-2", "deepseek-cloud:network.azCount": 4}), "deepseek-cloud:network.azCount"
    )
    assert "us-east-2 has only 3 availability zones (got 4; allowed: 2–3)" in line


def test_model_that_cannot_fit_names_instance_types_that_would():
    """Alternatives: allowed by the policy pack (no g4dn), priced and offered in the region, cheapest hour first."""
    line = only_line(
        problems_for(
            {
                "deepseek-cloud:model.name": "deepseek-r1-distill-llama-70b",
                "deepseek-cloud:gpuPool.instanceTypes": ["g6.xlarge"],
            }
        ),
        "deepseek-cloud:gpuPool.instanceTypes[0]",
    )
    assert line == (
        "deepseek-cloud:gpuPool.instanceTypes[0]: deepseek-r1-distill-llama-70b does not fit: weights 131.4 GiB/GPU "
        "+ 2.7 GiB runtime overhead exceed 19.9 GiB usable per GPU (got g6.xlarge; allowed: "
        "g6e.12xlarge (TP 4, 4× NVIDIA L40S 45 GiB, $10.4926/h), g6.48xlarge (TP 8, 8× NVIDIA L4 22 GiB, $13.3504/h), "
        "g6e.24xlarge (TP 4, 4× NVIDIA L40S 45 GiB, $15.0656/h), g5.48xlarge (TP 8, 8× NVIDIA A10G 22 GiB, $16.288/h), "
        "p4d.24xlarge (TP 8, 8× NVIDIA A100 40 GiB, $21.9576/h))"
    )


def test_alternatives_are_only_types_the_region_prices_and_offers():
    # eu-west-1: the price snapshot has no g6/g6e there (not offered on-demand), so the L40S/L4 types drop out.
    # The pool's own type is one eu-west-1 offers (g6.xlarge is offered nowhere there: a separate problem).
    line = only_line(
        problems_for(
            {
                "aws:region": "eu-west-1",
                "deepseek-cloud:model.name": "deepseek-r1-distill-llama-70b",
                "deepseek-cloud:gpuPool.instanceTypes": ["g5.xlarge"],
            }
        ),
        "deepseek-cloud:gpuPool.instanceTypes[0]",
    )
    assert line.endswith(
        "allowed: g5.48xlarge (TP 8, 8× NVIDIA A10G 22 GiB, $18.1823/h), "
        "p4d.24xlarge (TP 8, 8× NVIDIA A100 40 GiB, $23.7157/h))"
    )


def test_a_type_that_forces_a_larger_tp_on_the_pool_is_named():
    line = only_line(
        problems_for(
            {
                "deepseek-cloud:model.name": "deepseek-r1-distill-qwen-14b",
                "deepseek-cloud:gpuPool.instanceTypes": ["g6e.xlarge", "g5.12xlarge"],
            }
        ),
        "deepseek-cloud:gpuPool.instanceTypes[0]",
    )
    assert line.startswith(
        "deepseek-cloud:gpuPool.instanceTypes[0]: deepseek-r1-distill-qwen-14b does not fit: g5.12xlarge needs TP 2, "
        "which the pool shares; needs 2 GPUs, g6e.xlarge has 1 (alone it fits at TP 1) (got g6e.xlarge; allowed: "
        "g6e.2xlarge (TP 1, 1× NVIDIA L40S 45 GiB, $2.24208/h), "
    )


def test_all_problems_reported_together():
    lines = problems_for(
        {
            "deepseek-cloud:gpuPool.minSize": 5,
            "deepseek-cloud:scaling.minReplicas": 9,
            "deepseek-cloud:environment": "qa",
            "deepseek-cloud:scaling.metrc": "qps",
        }
    )
    paths = {line.split(": ", 1)[0] for line in lines}
    assert paths == {
        "deepseek-cloud:gpuPool.minSize",
        "deepseek-cloud:scaling.minReplicas",
        "deepseek-cloud:environment",
        "deepseek-cloud:scaling.metrc",
    }


def test_hugging_face_id_is_accepted_as_model_name():
    run = run_program("dev", overrides={"deepseek-cloud:model.name": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"})
    assert run.outputs["sizing"]["model"] == "deepseek-r1-distill-qwen-1.5b"


def test_nested_keys_a_stack_leaves_out_come_from_pulumi_yaml():
    # Only the model name given: maxModelLen and gpuMemoryUtilization come from Pulumi.yaml's defaults.
    run = run_program("dev", overrides={"deepseek-cloud:model": {"name": "deepseek-r1-distill-qwen-1.5b"}})
    assert run.outputs["sizing"]["maxModelLen"] == 8192
    assert run.outputs["sizing"]["gpuMemoryUtilization"] == 0.9


def test_pulumi_yaml_declarations_are_ones_the_pulumi_cli_accepts_and_match_the_typed_config():
    from pathlib import Path

    from stacks.config import StackConfig, _parse_sections, project_defaults, with_defaults
    from stacks.yaml_files import read_yaml

    declared = read_yaml(Path(__file__).resolve().parent.parent / "Pulumi.yaml")["config"]
    for key, declaration in declared.items():
        # Pulumi's project schema: simple types only (pulumi/pulumi#11321); arrays need `items`.
        assert declaration.get("type") in (None, "string", "integer", "boolean", "array"), key
        assert declaration.get("type") != "array" or "items" in declaration, key
        assert declaration.get("description"), key
        assert "default" in declaration, key
    aliases = {f.alias for f in StackConfig.model_fields.values()}
    assert set(project_defaults()) == aliases
    sections, problems, stand_ins = _parse_sections(with_defaults({}))
    assert stand_ins == ()
    assert problems == []  # the defaults alone are a valid config
    assert set(sections) == set(StackConfig.model_fields)


def test_a_string_of_the_wrong_format_names_the_format_it_needs():
    # "allowed: a string" told a user nothing; the pattern is what the value must match.
    line = only_line(
        problems_for({"deepseek-cloud:iam.permissionsBoundaryArn": "not-an-arn"}),
        "deepseek-cloud:iam.permissionsBoundaryArn",
    )
    assert line == (
        "deepseek-cloud:iam.permissionsBoundaryArn: wrong format (got not-an-arn; "
        r"allowed: matching ^(|arn:aws[\w-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+)$)"
    )


def test_a_type_error_does_not_hide_the_other_problems_of_its_section():
    # Before: gpuPool failed its model on targetCapacity's type, so its cross-field check (minSize above
    # maxSize) and its AWS check (the misspelt instance type) reported nothing until the type was fixed.
    lines = problems_for(
        {
            "deepseek-cloud:gpuPool.targetCapacity": "eighty",
            "deepseek-cloud:gpuPool.minSize": 3,
            "deepseek-cloud:gpuPool.maxSize": 2,
            "deepseek-cloud:gpuPool.instanceTypes": ["g6e.xlarg"],
        }
    )
    assert lines == [
        "deepseek-cloud:gpuPool.targetCapacity: wrong type (got eighty; allowed: 1–100)",
        "deepseek-cloud:gpuPool.minSize: larger than gpuPool.maxSize (got 3; allowed: 0–2)",
        "deepseek-cloud:gpuPool.instanceTypes[0]: unknown instance type (got g6e.xlarg; allowed: an EC2 instance "
        "type with an NVIDIA GPU); did you mean 'g6e.xlarge'?",
    ]


def test_no_problem_is_reported_against_the_stand_in_for_a_value_of_the_wrong_type():
    # The checks run with the project default in place of a badly typed value; nothing they find about
    # that value or compared with it is shown (it would describe the default, not the user's value).
    lines = problems_for({"deepseek-cloud:gpuPool.maxSize": "two", "deepseek-cloud:gpuPool.minSize": 3})
    assert lines == ["deepseek-cloud:gpuPool.maxSize: wrong type (got two; allowed: ≥ 1)"]
