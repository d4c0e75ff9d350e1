"""The components carved out of ModelService, built directly (not through a whole stack), and the
layout's import direction: shared components never reach into a platform package or stacks/."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pulumi
import pytest

from components.ecs.task import container_definitions
from components.shared import vllm
from offline.harness import run_program

ROOT = Path(__file__).resolve().parent.parent


def _program(tmp_path: Path, body: str):
    main = tmp_path / "main.py"
    main.write_text(
        "import pulumi\n"
        "from components.shared.endpoint import Endpoint, EndpointArgs\n"
        "from components.shared.model_secrets import ModelSecrets, ModelSecretsArgs\n" + textwrap.dedent(body)
    )
    return run_program("dev", config={"aws:region": "us-east-1"}, main=main)


def test_endpoint_alone_declares_the_load_balancer_path_without_aliases(tmp_path):
    run = _program(
        tmp_path,
        """
        Endpoint("api", EndpointArgs(vpc_id="vpc-1", subnet_ids=["subnet-1", "subnet-2"],
                 target_security_group_id="sg-targets", allowed_cidrs=("203.0.113.0/24",),
                 certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc"))
        """,
    )
    # No move aliases without moved_from (pulumi-aws's own Bucket -> BucketV2 type aliases keep the parent).
    assert not [a for r in run.registrations for a in r.aliases if a.get("parentUrn") or a.get("noParent")]
    health = run.one("aws:lb/targetGroup:TargetGroup").inputs["healthCheck"]
    assert (health["path"], health["interval"], health["unhealthyThreshold"]) == ("/health", 15, 3)
    assert sorted(r.name for r in run.of_type("aws:lb/listener:Listener")) == ["api-http", "api-https"]
    rule = run.one("aws:lb/listenerRule:ListenerRule").inputs
    assert rule["conditions"] == [{"pathPattern": {"values": ["/v1/*"]}}]
    egress = run.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").inputs
    assert (egress["referencedSecurityGroupId"], egress["fromPort"]) == ("sg-targets", vllm.PORT)
    assert len(run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")) == 2  # 80 and 443


def test_endpoint_refuses_bad_args_all_at_once(tmp_path):
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        _program(
            tmp_path,
            """
            Endpoint("api", EndpointArgs(allowed_cidrs=("10.0.0.0/33",), certificate_arn="arn:aws:acm:cert",
                     idle_timeout_seconds=0))
            """,
        )
    assert str(caught.value).startswith("Endpoint: ")
    assert [e["property_path"] for e in caught.value.errors] == [
        "idleTimeoutSeconds",
        "certificateArn",
        "allowedCidrs[0]",
    ]


def test_model_secrets_create_what_is_not_adopted(tmp_path):
    adopted = "arn:aws:secretsmanager:us-east-1:123456789012:secret:theirs-AbCdEf"
    run = _program(
        tmp_path,
        f"""
        s = ModelSecrets("m", ModelSecretsArgs(api_key_secret_arn="{adopted}", name_prefix="deepseek/dev",
                         kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k", protect=True))
        pulumi.export("grants", s.grants)
        pulumi.export("apiKey", s.api_key_arn)
        """,
    )
    secret = run.one("aws:secretsmanager/secret:Secret")
    assert (secret.name, secret.inputs["name"], secret.protect, secret.retain_on_delete) == (
        "m-hf-token",
        "deepseek/dev/hf-token",
        True,
        True,
    )
    assert run.outputs["apiKey"] == adopted
    assert run.outputs["grants"] == [
        adopted,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:deepseek/dev/hf-token-??????",
    ]


def test_model_secrets_refuse_a_bad_arn(tmp_path):
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        _program(tmp_path, 'ModelSecrets("m", ModelSecretsArgs(hf_token_secret_arn="arn:aws:kms:x", name_prefix="p"))')
    assert str(caught.value) == "ModelSecrets: hfTokenSecretArn: must be a Secrets Manager secret ARN"


def test_the_ecs_container_runs_what_vllm_module_builds():
    server = vllm.VllmServer(
        hf_model_id="org/model", served_model_name="m", tensor_parallel_size=2, extra_args=("--x",)
    )
    (container,) = container_definitions(server, "arn:k", "arn:h", "/g", "us-east-1", vllm.keep_alive_seconds(600))
    assert container["command"] == vllm.serve_args(server)
    assert container["command"][:5] == ["org/model", "--served-model-name", "m", "--tensor-parallel-size", "2"]
    assert container["command"][-1] == "--x"
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env == vllm.environment(615) and env["VLLM_HTTP_TIMEOUT_KEEP_ALIVE"] == "615"
    assert container["healthCheck"]["command"] == ["CMD", *vllm.probe_command()]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_arrows_point_down():
    """components never import stacks/; shared components never import a platform package (ecs, eks, ci)."""
    for path in sorted((ROOT / "components").rglob("*.py")):
        imported = _imports(path)
        assert not {m for m in imported if m.split(".")[0] == "stacks"}, path
        if path.parent.name == "shared":
            assert not {m for m in imported if m.startswith(("components.ecs", "components.eks", "components.ci"))}, (
                path
            )
    assert "components.ecs.service" not in _imports(ROOT / "components" / "shared" / "endpoint.py")


def test_hub_loading_pins_the_revision_and_s3_loading_needs_no_flag():
    sha = "916b56a44061fd5cd7d6a8fb632557ed4f724f60"
    hub = vllm.VllmServer(hf_model_id="org/m", revision=sha, served_model_name="m")
    assert vllm.serve_args(hub)[:3] == ["org/m", "--revision", sha]
    cpu = vllm.VllmServer(hf_model_id="org/m", revision=sha, served_model_name="m", device="cpu")
    assert vllm.serve_args(cpu)[:3] == ["org/m", "--revision", sha]
    floating = vllm.VllmServer(hf_model_id="org/m", served_model_name="m")  # a Hub id outside the catalog
    assert "--revision" not in vllm.serve_args(floating)
    s3 = vllm.VllmServer(hf_model_id="org/m", revision=sha, load_from="s3", model_uri="s3://b/org/m/" + sha)
    assert "--revision" not in vllm.serve_args(s3)
