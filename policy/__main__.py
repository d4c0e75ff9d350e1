"""Entry point the Pulumi engine runs (`python -m pulumi.policy <engine> .` in this directory).

Only builds the PolicyPack: its constructor starts the analyzer gRPC server, prints the port and
never returns, so nothing may import this module. The rules live in `deepseek_policies/`.
"""

from deepseek_policies import ALL_POLICIES, PACK_DESCRIPTION, PACK_NAME, PACK_TAGS
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=ALL_POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description=PACK_DESCRIPTION,
    display_name="deepseek-cloud AWS guardrails",
    provider="aws",
    tags=PACK_TAGS,
)
