"""What the AWS account must already hold before a stack's first `pulumi up`: the service-linked roles.

Decision: refuse up front, never create them. A service-linked role is account-wide, shared by every
Auto Scaling group / ECS cluster in the account, and exists once: `CreateServiceLinkedRole` fails when it
exists, so the stack could only declare it when a lookup says it is absent — and the next `up`, finding
it, would drop it from the program and delete it under every other group and cluster (IAM refuses or
breaks them). terraform-aws-modules/terraform-aws-ecs#26 reached the same conclusion ("it is often
shared across multiple resources"). So `load_stack` looks the roles up (IAM ListRoles under
/aws-service-role/, read permission only) and reports the missing ones in one line with the command
that creates each, before anything is declared.

Which roles, and why each must exist *before* the stack:
- AWSServiceRoleForAutoScaling: the stack key's policy names it (components/shared/kms_key.py), and KMS rejects
  a key policy whose principal does not exist (MalformedPolicyDocumentException, "Policy contains a
  statement with one or more invalid principals":
  https://repost.aws/knowledge-center/kms-policy-error-invalid-principals). EC2 Auto Scaling only
  creates it with the account's first Auto Scaling group
  (https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html), which
  this stack creates after the key.
- AWSServiceRoleForECS: CreateCapacityProvider fails with "ECS Service Linked Role does not exist"
  (hashicorp/terraform-provider-aws#19977, terraform-aws-modules/terraform-aws-ecs#26), and CreateCluster,
  which tries to create it, fails in a new account with "Unable to assume the service linked role"
  (aws-cloudformation/cloudformation-coverage-roadmap#818): IAM is eventually consistent.
Not checked, because the API call that needs them creates them itself when the caller may
(iam:CreateServiceLinkedRole): AWSServiceRoleForElasticLoadBalancing ("Elastic Load Balancing creates
this role for you when you create a load balancer or a target group",
https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-service-linked-roles.html) and
AWSServiceRoleForApplicationAutoScaling_ECSService (RegisterScalableTarget creates it).
"""

from __future__ import annotations

from stacks import aws_facts
from stacks.errors import Problem

# (AWS service name, service-linked role name) the ECS platform needs before its first `up`.
ECS_SERVICE_LINKED_ROLES = (
    ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling"),
    ("ecs.amazonaws.com", "AWSServiceRoleForECS"),
)


def service_linked_role_problems(platform: str | None) -> list[Problem]:
    """One problem naming every missing service-linked role and the commands that create them."""
    if platform != "ecs":
        return []
    present = aws_facts.service_linked_roles()
    missing = [(service, name) for service, name in ECS_SERVICE_LINKED_ROLES if name not in present]
    if not missing:
        return []
    commands = " && ".join(f"aws iam create-service-linked-role --aws-service-name {s}" for s, _ in missing)
    found = [name for _, name in ECS_SERVICE_LINKED_ROLES if name in present]
    return [
        Problem(
            "account",
            f"missing service-linked role(s) {', '.join(n for _, n in missing)}; create them once per account, "
            f"then run again: {commands}",
            f"present: {', '.join(found) or 'none'}",
            ", ".join(name for _, name in ECS_SERVICE_LINKED_ROLES),
            namespace="aws",
        )
    ]
