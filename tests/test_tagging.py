"""One stack transform tags every taggable resource."""

from __future__ import annotations

from offline.harness import run_program, shared_run
from stacks.tagging import accepts_tags, merge_tags


def test_every_taggable_resource_carries_project_environment_and_owner():
    run = run_program("dev", overrides={"deepseek-cloud:tags": {"owner": "search-team", "cost-center": "42"}})
    taggable = [r for r in run.registrations if r.custom and accepts_tags(r.type)]
    assert len(taggable) > 5
    for r in taggable:
        tags = r.inputs["tags"]
        if isinstance(tags, list):  # Auto Scaling groups
            tags = {t["key"]: t["value"] for t in tags}
        assert tags["project"] == "deepseek-cloud", r.name
        assert tags["environment"] == "dev", r.name
        assert tags["owner"] == "search-team", r.name
        assert tags["cost-center"] == "42", r.name


def test_taggability_comes_from_the_sdk_signature():
    assert accepts_tags("aws:ec2/vpc:Vpc")
    assert not accepts_tags("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert not accepts_tags("deepseek:network:Network")
    # Keyword modules live under a trailing underscore (pulumi_aws.lambda_): without it the rotation function
    # went untagged and failed required-tags in prod.
    assert accepts_tags("aws:lambda/function:Function")


def test_auto_scaling_group_tags_propagate_at_launch_and_own_tags_win():
    props = merge_tags(
        "aws:autoscaling/group:Group", {"tags": [{"key": "owner", "value": "me"}]}, {"owner": "x", "a": "b"}
    )
    assert props["tags"] == [
        {"key": "owner", "value": "me"},
        {"key": "a", "value": "b", "propagateAtLaunch": True},
    ]


def test_launch_template_tag_specifications_carry_the_stack_tags_and_own_tags_win():
    run = shared_run("dev")
    template = run.one("aws:ec2/launchTemplate:LaunchTemplate")
    specs = {s["resourceType"]: s["tags"] for s in template.inputs["tagSpecifications"]}
    assert {"instance", "volume"} <= set(specs)
    for kind in ("instance", "volume"):
        assert specs[kind]["project"] == "deepseek-cloud", kind
        assert specs[kind]["environment"] == "dev", kind
        assert specs[kind]["owner"] == "ml-platform", kind
        assert specs[kind]["Name"].endswith("-gpu" if kind == "instance" else "-gpu-root"), kind
    props = merge_tags(
        "aws:ec2/launchTemplate:LaunchTemplate",
        {"tagSpecifications": [{"resourceType": "volume", "tags": {"owner": "me"}}]},
        {"owner": "x", "project": "p"},
    )
    assert props["tagSpecifications"] == [{"resourceType": "volume", "tags": {"project": "p", "owner": "me"}}]
    assert props["tags"] == {"owner": "x", "project": "p"}
