"""components/shared/aws_scope.py: one account/region/partition lookup per program run and provider."""

from __future__ import annotations

import collections
import textwrap

import pytest

from offline.harness import run_program, shared_run, stack_names

LOOKUPS = (
    "aws:index/getCallerIdentity:getCallerIdentity",
    "aws:index/getRegion:getRegion",
    "aws:index/getPartition:getPartition",
)


@pytest.mark.parametrize("stack", stack_names())
def test_a_stack_asks_each_once(stack):
    # Once, not zero: a test process runs several stacks, so a cache outliving its run would show 0 here.
    asked = collections.Counter(token for token, _ in shared_run(stack).invokes)
    assert [asked[t] for t in LOOKUPS] == [1, 1, 1]


PROGRAM = textwrap.dedent(
    """
    import pulumi
    import pulumi_aws as aws

    from components.shared.aws_scope import aws_scope


    class Probe(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("deepseek:test:Probe", name, None, opts)
            self.scope = aws_scope(self)
            self.register_outputs({})


    west = aws.Provider("west", region="eu-west-1")
    a, b = Probe("a"), Probe("b")
    c = Probe("c", pulumi.ResourceOptions(providers=[west]))
    d = Probe("d", pulumi.ResourceOptions(parent=c))  # inherits c's provider
    """
)


def test_components_of_one_provider_share_a_lookup_and_another_provider_gets_its_own(tmp_path):
    main = tmp_path / "__main__.py"
    main.write_text(PROGRAM)
    run = run_program("dev", main=main)
    scopes = {name: run.program_globals[name].scope for name in "abcd"}
    assert scopes["a"] is scopes["b"]
    assert scopes["c"] is scopes["d"]
    assert scopes["a"] is not scopes["c"]
    asked = collections.Counter(token for token, _ in run.invokes)
    assert [asked[t] for t in LOOKUPS] == [2, 2, 2]  # the default provider's, then west's
    assert scopes["a"].account_id == "123456789012" and scopes["a"].partition == "aws"
    assert scopes["a"].caller_arn.startswith("arn:aws:")
