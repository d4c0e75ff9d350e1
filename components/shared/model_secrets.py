"""ModelSecrets: the vLLM API key and the Hugging Face token, each adopted by ARN or created empty.

Values never enter code or state: a created secret is empty until someone runs
`aws secretsmanager put-secret-value`. Each secret yields the ARN a container references and the ARN
(pattern) an execution role may read; both platforms read them the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.shared.aws_scope import aws_scope
from components.shared.moves import moved
from components.shared.validation import ArgsProblems

SECRET_ARN = re.compile(r"^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:.+$")

API_KEY_DESCRIPTION = "Bearer token clients send to the vLLM OpenAI API (vLLM reads VLLM_API_KEY)"
HF_TOKEN_DESCRIPTION = "Hugging Face read token for downloading model weights (HF_TOKEN)"
# Why a created secret has no Secrets Manager rotation (the policy pack's secretsmanager-rotation rule reads it):
# "third-party" = a token another service issues (Hugging Face: rotate it at huggingface.co); "manual" = a
# key the stack cannot rotate without breaking its readers (EKS pods, a tier router): refused in prod.
ROTATION_TAG = "deepseek:rotation"


@dataclass(frozen=True)
class ModelSecretsArgs:
    api_key_secret_arn: str = ""  # adopt; empty creates an empty secret
    hf_token_secret_arn: str = ""
    name_prefix: str = ""  # created secrets are <prefix>/vllm-api-key and <prefix>/hf-token
    kms_key_arn: pulumi.Input[str] = ""  # encrypts the created secrets
    recovery_window_days: int = 7  # 0 deletes at once (dev: a re-created stack can reuse the name)
    protect: bool = False  # created secrets protected and retained (prod)
    # The component the secrets were declared under before this one existed (ModelService): each created
    # secret carries Alias(parent=moved_from), so its URN resolves to the old one and nothing is replaced.
    moved_from: pulumi.Resource | None = None
    # A rotation (components/ecs/api_key_rotation.py) is attached to the created API-key secret; False tags it
    # deepseek:rotation=manual instead.
    api_key_rotated: bool = False


def secrets_problems(args: ModelSecretsArgs) -> ArgsProblems:
    """Every problem with `args` (not raised: a parent component reports them with its own)."""
    problems = ArgsProblems("ModelSecrets")
    for key, arn in (("apiKeySecretArn", args.api_key_secret_arn), ("hfTokenSecretArn", args.hf_token_secret_arn)):
        problems.check(not arn or bool(SECRET_ARN.match(arn)), key, "must be a Secrets Manager secret ARN")
    problems.check(
        args.recovery_window_days == 0 or 7 <= args.recovery_window_days <= 30,
        "recoveryWindowDays",
        "Secrets Manager allows 0 (no recovery) or 7-30",
    )
    needs_name = not (args.api_key_secret_arn and args.hf_token_secret_arn)
    problems.check(
        not needs_name or bool(re.match(r"^[\w/+=.@-]{1,480}$", args.name_prefix)),
        "namePrefix",
        "is required to create secrets and may hold letters, digits and /_+=.@-",
    )
    return problems


class ModelSecrets(pulumi.ComponentResource):
    api_key_arn: pulumi.Output[str]
    hf_token_arn: pulumi.Output[str]
    grants: list[str]  # ARNs (patterns) an execution role may read: GetSecretValue's resources

    def __init__(self, name: str, args: ModelSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:serving:ModelSecrets", name, None, opts)
        secrets_problems(args).raise_if_any()
        scope = aws_scope(self)
        where = (scope.account_id, scope.region, scope.partition)
        api_key, api_key_grant = self._secret(
            name,
            "vllm-api-key",
            args.api_key_secret_arn,
            API_KEY_DESCRIPTION,
            args,
            where,
            {} if args.api_key_rotated else {ROTATION_TAG: "manual"},
        )
        hf_token, hf_token_grant = self._secret(
            name, "hf-token", args.hf_token_secret_arn, HF_TOKEN_DESCRIPTION, args, where, {ROTATION_TAG: "third-party"}
        )
        self.api_key_arn = pulumi.Output.from_input(api_key)
        self.hf_token_arn = pulumi.Output.from_input(hf_token)
        self.grants = [api_key_grant, hf_token_grant]
        self.register_outputs({"apiKeySecretArn": self.api_key_arn, "hfTokenSecretArn": self.hf_token_arn})

    def _secret(
        self,
        name: str,
        kind: str,
        existing: str,
        description: str,
        args: ModelSecretsArgs,
        where: tuple[str, str, str],
        tags: dict[str, str],
    ) -> tuple[pulumi.Input[str], str]:
        """Adopt an existing secret by ARN, or create an empty one. Returns the ARN to reference and the
        ARN (pattern) to grant."""
        if existing:
            return existing, existing
        account_id, region, partition = where
        secret_name = f"{args.name_prefix}/{kind}"
        secret = aws.secretsmanager.Secret(
            f"{name}-{kind}",
            name=secret_name,  # a stable name users can find: README says put the value here
            description=f"{description}. Set its value with `aws secretsmanager put-secret-value`.",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=args.recovery_window_days,
            tags=tags or None,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.protect, aliases=moved(args.moved_from)
            ),
        )
        # Secrets Manager appends "-" and six random characters to the name in the ARN.
        return secret.arn, f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{secret_name}-??????"
