"""URN stability: every resource the shipped stacks declared before the layout refactor keeps its URN, or the
resource that replaced it carries an alias to it. A URN that is neither means Pulumi deletes the old
resource and creates a new one: prod's protected log group, secrets, access-log bucket and deletion-protected
ALB would block the update (or, retained, be orphaned). The baseline in tests/data/urns/ was recorded with
`python -m offline.urns --write dev staging prod` on the code before anything moved."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from offline.harness import run_program, shared_run, stack_names
from offline.urns import EngineUrns, make_urn, missing, read_baseline, recorded_stacks

STACKS = recorded_stacks()


def test_baseline_covers_every_shipped_stack():
    assert {"dev", "staging", "prod"} <= set(STACKS)
    assert stack_names() == STACKS  # eks-r1 recorded when it shipped (issue 12)
    assert len(read_baseline("prod")) == 98


# Resources removed on purpose (Pulumi deletes them on the next `up`): URN → why. Anything else that vanished
# from the baseline is a move without an alias.
REMOVED_ON_PURPOSE = {
    "urn:pulumi:prod::deepseek-cloud::deepseek:serving:ModelService$aws:lb/listener:Listener::ds-prod-vllm-http": (
        "prod listens on 443 only (Security Hub ELB.18: an API client needs no HTTP→HTTPS redirect)"
    ),
    "urn:pulumi:prod::deepseek-cloud::deepseek:serving:ModelService$aws:vpc/securityGroupIngressRule:"
    "SecurityGroupIngressRule::ds-prod-vllm-alb-in-80-0-0-0-0-0": "port 80 is closed with the listener (ELB.18)",
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_recorded_urn_is_still_declared_or_aliased(stack):
    assert sorted(set(missing(read_baseline(stack), shared_run(stack))) - REMOVED_ON_PURPOSE.keys()) == []


def test_what_was_removed_on_purpose_is_really_gone():
    """A stale entry would hide a real move: each one must be in a baseline and missing from its stack."""
    for urn in REMOVED_ON_PURPOSE:
        stack = urn.split(":")[2]
        assert urn in read_baseline(stack)
        assert urn in missing(read_baseline(stack), shared_run(stack))


@pytest.mark.parametrize("stack", STACKS)
def test_no_alias_is_claimed_twice(stack):
    """The engine refuses an alias two resources claim, or one that is another live resource's URN."""
    engine = EngineUrns(shared_run(stack))
    live = set(engine.all())
    claimed: dict[str, str] = {}
    for r in engine.run.registrations:
        for alias in engine.aliases(r) - {engine.urn(r)}:
            assert alias not in live, f"{engine.urn(r)} aliases the live {alias}"
            assert claimed.setdefault(alias, engine.urn(r)) == engine.urn(r), f"{alias} claimed twice"


def test_prod_protected_resources_keep_their_identity():
    """Each protected prod resource today is the same resource (URN or alias) as in the baseline."""
    engine = EngineUrns(shared_run("prod"))
    baseline = set(read_baseline("prod"))
    protected = [r for r in engine.run.registrations if r.protect]
    assert {r.type for r in protected} >= {
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:secretsmanager/secret:Secret",
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
    }
    for r in protected:
        if engine.urn(r) in ADDED_SINCE_BASELINE:
            continue
        assert ({engine.urn(r)} | engine.aliases(r)) & baseline, f"{engine.urn(r)} is new to prod"


# Protected prod resources that did not exist when the baseline was recorded (new, so nothing to alias).
ADDED_SINCE_BASELINE = {
    "urn:pulumi:prod::deepseek-cloud::deepseek:network:VpcFlowLogs$aws:cloudwatch/logGroup:LogGroup::"
    "ds-prod-flow-logs-logs": "VPC flow logs (Security Hub EC2.6), added with the control table",
    "urn:pulumi:prod::deepseek-cloud::deepseek:shared:ModelBucket$aws:s3/bucket:Bucket::ds-prod-models-weights": (
        "the model bucket (issue 13, image and weights pipeline)"
    ),
    "urn:pulumi:prod::deepseek-cloud::deepseek:ecs:WeightsSync$aws:cloudwatch/logGroup:LogGroup::ds-prod-sync-logs": (
        "the weight sync task's log group (issue 13)"
    ),
    "urn:pulumi:prod::deepseek-cloud::deepseek:serving:ModelService$deepseek:serving:ApiKeyRotation$"
    "aws:cloudwatch/logGroup:LogGroup::ds-prod-vllm-key-rotation-logs": "the API-key rotation function's log group "
    "(SecretsManager.1/.4, issue 17)",
    "urn:pulumi:prod::deepseek-cloud::deepseek:edge:WebAcl$aws:cloudwatch/logGroup:LogGroup::ds-prod-waf-logs": (
        "the web ACL's log group (WAF.11, issue 17)"
    ),
    "urn:pulumi:prod::deepseek-cloud::deepseek:serving:ModelService$deepseek:ecs:VllmMetrics$"
    "aws:cloudwatch/logGroup:LogGroup::ds-prod-vllm-metrics-emf": "the vLLM metrics sidecar's EMF log group "
    "(issue 12 on ECS)",
}


def test_what_was_added_since_the_baseline_is_really_new():
    baseline = set(read_baseline("prod"))
    urns = set(EngineUrns(shared_run("prod")).all())
    for urn in ADDED_SINCE_BASELINE:
        assert urn in urns and urn not in baseline


# --- the checker itself, on a small program moved the way the refactor moves ModelService's children ----

BEFORE = """
    import pulumi, pulumi_aws as aws

    class Service(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("t:serving:Service", name, None, opts)
            aws.s3.Bucket(f"{name}-logs", opts=pulumi.ResourceOptions(parent=self, protect=True))
            self.register_outputs({})

    Service("svc")
"""

AFTER = """
    import pulumi, pulumi_aws as aws

    class Endpoint(pulumi.ComponentResource):
        def __init__(self, name, old_parent, opts=None):
            super().__init__("t:edge:Endpoint", name, None, opts)
            aliases = [pulumi.Alias(parent=old_parent)] if ALIASED else []
            aws.s3.Bucket(
                f"{old_parent._name}-logs", opts=pulumi.ResourceOptions(parent=self, protect=True, aliases=aliases)
            )
            self.register_outputs({})

    class Service(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("t:serving:Service", name, None, opts)
            Endpoint(f"{name}-endpoint", self, opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({})

    Service("svc")
"""

RETYPED = """
    import pulumi, pulumi_aws as aws

    class Service(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("t:ecs:Service", name, None, opts)
            aws.s3.Bucket(f"{name}-logs", opts=pulumi.ResourceOptions(parent=self, protect=True))
            self.register_outputs({})

    Service("svc", opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="t:serving:Service")] if ALIASED else []))
"""


def _run(tmp_path: Path, source: str, aliased: bool = False):
    main = tmp_path / f"main_{abs(hash((source, aliased)))}.py"
    main.write_text(f"ALIASED = {aliased}\n" + textwrap.dedent(source))
    return run_program("dev", config={"aws:region": "us-east-1"}, main=main)


def test_engine_urns_qualify_a_child_with_its_parents_whole_type_chain(tmp_path):
    run = _run(tmp_path, AFTER, aliased=True)
    urns = EngineUrns(run).all()
    assert "urn:pulumi:dev::deepseek-cloud::t:serving:Service$t:edge:Endpoint$aws:s3/bucket:Bucket::svc-logs" in urns
    assert "urn:pulumi:dev::deepseek-cloud::t:serving:Service::svc" in urns  # no pulumi:pulumi:Stack$ prefix


def test_a_child_moved_without_an_alias_is_reported(tmp_path):
    before = EngineUrns(_run(tmp_path, BEFORE)).all()
    old_bucket = make_urn("dev", "deepseek-cloud", "urn:pulumi:dev::deepseek-cloud::t:serving:Service::svc",
                          "aws:s3/bucket:Bucket", "svc-logs")  # fmt: skip
    assert old_bucket in before
    assert missing(before, _run(tmp_path, AFTER, aliased=False)) == [old_bucket]
    assert missing(before, _run(tmp_path, AFTER, aliased=True)) == []


def test_a_retyped_parent_carries_its_children_by_inherited_aliases(tmp_path):
    before = EngineUrns(_run(tmp_path, BEFORE)).all()
    assert len(missing(before, _run(tmp_path, RETYPED, aliased=False))) == 2  # the component and its bucket
    assert missing(before, _run(tmp_path, RETYPED, aliased=True)) == []
