"""AWS name limits the stack's resource names must meet, checked against the stack name up front.

Every name starts with StackContext.short_name (`ds-<stack>`). Names the program leaves to Pulumi are
auto-named: the logical name, "-" and 7 random characters (8 more), and pulumi-aws refuses a name that
then passes the type's limit at preview ("name '…-' plus 7 random chars is longer than maximum length",
pulumi/pulumi-aws#1317; the target group's 32 since pulumi/pulumi-aws#1932). So a long stack name is a
config error here, before anything is declared, instead of a failed preview/up.

NAMES lists, per limit, the longest name the program builds for it (the binding ones);
tests/test_name_limits.py runs the real program at the longest allowed stack name and checks every
registered name against its type's AWS limit, so a longer name added later fails that test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.errors import Problem

PREFIX = "ds-"  # StackContext.short_name = ds-<stack>
AUTONAME_SUFFIX = 8  # "-" + 7 random characters
# ALB and target group names: "only alphanumeric characters or hyphens" (CreateLoadBalancer /
# CreateTargetGroup API reference); Pulumi stack names may also hold "_" and ".".
STACK_NAME = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class NameRule:
    what: str
    suffix: str  # the logical name after ds-<stack>
    limit: int  # AWS's limit for the name, characters
    autonamed: bool  # Pulumi appends AUTONAME_SUFFIX characters

    def length(self, stack: str) -> int:
        return len(PREFIX) + len(stack) + len(self.suffix) + (AUTONAME_SUFFIX if self.autonamed else 0)

    def example(self, stack: str) -> str:
        return f"{PREFIX}{stack}{self.suffix}" + ("-xxxxxxx" if self.autonamed else "")


NAMES = (
    NameRule("load balancer", "-vllm-alb", 32, True),  # CreateLoadBalancer: 32
    NameRule("target group", "-vllm-tg", 32, True),  # CreateTargetGroup: 32
    NameRule("EventBridge rule", "-alarms-gpu-launch-failed", 64, False),  # PutRule: 64
    NameRule("S3 bucket", "-vllm-alb-logs", 63, True),  # bucket naming rules: 63
    NameRule("IAM role", "-vllm-pool-instance", 64, True),  # CreateRole: 64
)


def max_stack_name_length() -> int:
    return min(rule.limit - rule.length("") for rule in NAMES)


def stack_name_problems(stack: str) -> list[Problem]:
    """One problem when the stack name makes any AWS name too long or holds characters ALB names refuse."""
    too_long = [rule for rule in NAMES if rule.length(stack) > rule.limit]
    bad_chars = not STACK_NAME.match(stack)
    if not too_long and not bad_chars:
        return []
    reasons = [
        f"{r.what} name {r.example(stack)} is {r.length(stack)} characters, AWS allows {r.limit}" for r in too_long
    ]
    if bad_chars:
        reasons.append("load balancer and target group names take only letters, digits and hyphens")
    return [
        Problem(
            "stack",
            "; ".join(reasons),
            stack,
            f"up to {max_stack_name_length()} letters, digits and hyphens",
            namespace="pulumi",
        )
    ]
