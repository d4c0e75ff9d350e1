"""One stack transform tags every taggable resource."""

from __future__ import annotations

import sys
from pathlib import Path

from offline.harness import run_program, shared_run, stack_names
from stacks.tagging import accepts_tags, merge_tags

POLICY_DIR = Path(__file__).resolve().parents[1] / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))

from deepseek_policies import taggable  # noqa: E402


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


def test_the_packs_source_reading_agrees_with_introspection_for_every_shipped_type():
    """The policy pack decides taggability from the SDK's source files (taggable.py says why); for every AWS
    type the shipped stacks declare, that answer is found and equals the imported class's signature."""
    types = {
        r.type for s in stack_names() for r in shared_run(s).registrations if r.custom and r.type.startswith("aws:")
    }
    assert len(types) > 60
    answers = {}
    for token in sorted(types):
        fqn, cls = taggable._lookup(token)
        answers[token] = taggable._source_accepts_tags(fqn, cls)
        assert answers[token] is not None, token
        assert answers[token] == taggable._imported_accepts_tags(fqn, cls), token
    assert answers["aws:lambda/function:Function"] is True  # pulumi_aws.lambda_/function.py
    assert answers["aws:iam/rolePolicy:RolePolicy"] is False
    assert {True, False} == set(answers.values())


def test_the_source_reading_answers_only_for_a_class_it_finds():
    assert taggable._source_accepts_tags("pulumi_aws.ec2", "Vpc") is True
    assert taggable._source_accepts_tags("pulumi_aws.ec2", "RouteTableAssociation") is False
    # not found: None, so sdk_accepts_tags asks the imported class instead
    assert taggable._source_accepts_tags("pulumi_aws.ec2", "NoSuchResource") is None
    assert taggable._source_accepts_tags("pulumi_aws.no_such_service", "Vpc") is None
