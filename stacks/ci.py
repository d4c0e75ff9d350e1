"""The `ci` stack: GitHub Actions' identity in one AWS account (OIDC provider, preview and deploy roles).

It is its own stack because it must exist before CI can run anything, and because it is the one thing CI
must not be able to change: it is brought up once by a person with admin credentials (see docs/gitops.md)
and changed only the same way. A program for it is a few lines, e.g.

    from stacks.ci import build_ci_identity
    for key, value in build_ci_identity("acme/deepseek-cloud", state_bucket="acme-pulumi-state").items():
        pulumi.export(key, value)
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.github_oidc_role import GithubOidcRole, GithubOidcRoleArgs


def build_ci_identity(
    repository: str,
    *,
    name: str = "deepseek-ci",
    allowed_refs: tuple[str, ...] = ("refs/heads/main",),
    allowed_environments: tuple[str, ...] = ("dev", "staging", "prod"),
    oidc_provider_arn: str = "",
    state_bucket: str = "",
    state_kms_key: str = "",
    permissions_boundary_arn: str = "",
    regions: tuple[str, ...] = (),
    tags: Mapping[str, str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> dict[str, pulumi.Output[str]]:
    """Declare the CI identity; returns the stack outputs to export (role ARNs go into GitHub variables)."""
    identity = GithubOidcRole(
        name,
        GithubOidcRoleArgs(
            repository=repository,
            allowed_refs=tuple(allowed_refs),
            allowed_environments=tuple(allowed_environments),
            oidc_provider_arn=oidc_provider_arn,
            state_bucket=state_bucket,
            state_kms_key=state_kms_key,
            permissions_boundary_arn=permissions_boundary_arn,
            regions=tuple(regions),
            tags={"project": "deepseek-cloud", "stack": "ci", **dict(tags or {})},
        ),
        opts,
    )
    return {
        "oidcProviderArn": identity.oidc_provider_arn,
        "previewRoleArn": identity.preview_role_arn,
        "deployRoleArn": identity.deploy_role_arn,
    }
