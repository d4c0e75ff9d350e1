"""Every Kubernetes object the eks-dev stack declares, checked by a real validator:

- built-in kinds: kubernetes-validate, strict, for the pinned Kubernetes version (a missing schema fails);
- Karpenter's NodePool / EC2NodeClass: the openAPIV3Schema of the CRDs from the pinned release
  (tests/data/crds, SOURCE there), with jsonschema. CEL rules (x-kubernetes-validations) are NOT evaluated
  by jsonschema: the counts below pin how many there are, and docs/eks.md names the ones that matter here;
- Helm releases: chart and version pinned; neither chart ships values.schema.json at its pinned version, so
  every key we set must exist in the chart's own default values.yaml (tests/data/charts) unless the chart
  leaves that subtree free-form ({} / [] / null), where Kubernetes' own types apply.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from offline.harness import engine_inputs, shared_run
from stacks import versions

DATA = Path(__file__).resolve().parent / "data"
CRDS = {
    ("karpenter.sh/v1", "NodePool"): DATA / "crds" / "karpenter.sh_nodepools.yaml",
    ("karpenter.k8s.aws/v1", "EC2NodeClass"): DATA / "crds" / "karpenter.k8s.aws_ec2nodeclasses.yaml",
    ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding"): DATA / "crds" / "elbv2.k8s.aws_targetgroupbindings.yaml",
    ("keda.sh/v1alpha1", "ScaledObject"): DATA / "crds" / "keda.sh_scaledobjects.yaml",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): DATA / "crds" / "keda.sh_triggerauthentications.yaml",
    ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"): DATA
    / "crds"
    / "leaderworkerset.x-k8s.io_leaderworkersets.yaml",
    ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass"): DATA
    / "crds"
    / "secrets-store.csi.x-k8s.io_secretproviderclasses.yaml",
}
CHART_VALUES = {
    (versions.KARPENTER_CHART, versions.KARPENTER_VERSION): DATA / "charts" / "karpenter-1.14.1-values.yaml",
    (versions.DEVICE_PLUGIN_CHART, versions.DEVICE_PLUGIN_VERSION): DATA
    / "charts"
    / "nvidia-device-plugin-0.20.0-values.yaml",
    (versions.LB_CONTROLLER_CHART, versions.LB_CONTROLLER_VERSION): DATA
    / "charts"
    / "aws-load-balancer-controller-3.5.0-values.yaml",
    (versions.CSI_DRIVER_CHART, versions.CSI_DRIVER_VERSION): DATA
    / "charts"
    / "secrets-store-csi-driver-1.6.0-values.yaml",
    (versions.ASCP_CHART, versions.ASCP_VERSION): DATA
    / "charts"
    / "secrets-store-csi-driver-provider-aws-3.1.1-values.yaml",
    (versions.KEDA_CHART, versions.KEDA_VERSION): DATA / "charts" / "keda-2.20.2-values.yaml",
    (versions.LWS_CHART, versions.LWS_VERSION): DATA / "charts" / "lws-0.10.0-values.yaml",
    (versions.EFA_PLUGIN_CHART, versions.EFA_PLUGIN_VERSION): DATA
    / "charts"
    / "aws-efa-k8s-device-plugin-v0.5.30-values.yaml",
    (versions.DCGM_EXPORTER_CHART, versions.DCGM_EXPORTER_VERSION): DATA / "charts" / "dcgm-exporter-4.8.2-values.yaml",
}
RELEASE = "kubernetes:helm.sh/v3:Release"


def _wire(value: Any) -> Any:
    """The engine carries numbers as doubles; the provider sends 1.0 to the API server as 1."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def k8s_objects(stack: str = "eks-dev") -> list[tuple[str, dict[str, Any]]]:
    """(type, object) of every Kubernetes resource of `stack`, in the apiVersion/kind/metadata/spec shape."""
    run = shared_run(stack)
    return [(r.type, _wire(engine_inputs(r))) for r in run.registrations if r.type.startswith("kubernetes:")]


def kubernetes_version(stack: str = "eks-dev") -> str:
    return shared_run(stack).program_globals["context"].config.eks.kubernetes_version


@functools.cache  # read-only; each CRD is ~0.6 s of pure-Python YAML parsing, once per kind per session
def read_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    crd = read_yaml(CRDS[(api_version, kind)])
    served = api_version.split("/")[1]
    return next(v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"] if v["name"] == served)


def validate_custom(obj: dict[str, Any]) -> None:
    schema = crd_schema(obj["apiVersion"], obj["kind"])
    jsonschema.Draft7Validator(schema).validate(obj)


def unknown_value_keys(ours: Any, defaults: Any, path: str = "") -> list[str]:
    """Keys we set that the chart's values.yaml does not declare (free-form subtrees excepted)."""
    if not isinstance(ours, dict) or not isinstance(defaults, dict) or not defaults:
        return []
    unknown = []
    for key, value in ours.items():
        where = f"{path}.{key}" if path else key
        if key not in defaults:
            unknown.append(where)
        else:
            unknown.extend(unknown_value_keys(value, defaults[key], where))
    return unknown


def by_bucket(stack: str = "eks-dev") -> dict[str, list[dict[str, Any]]]:
    buckets: dict[str, list[dict[str, Any]]] = {"release": [], "custom": [], "builtin": []}
    for type_, obj in k8s_objects(stack):
        if type_ == RELEASE:
            buckets["release"].append(obj)
        elif (obj.get("apiVersion"), obj.get("kind")) in CRDS:
            buckets["custom"].append(obj)
        else:
            buckets["builtin"].append(obj)
    return buckets


BUILTIN_KINDS = [
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "CronJob",  # the suspended weight sync (components/eks/weights_sync.py)
    "Deployment",
    "Deployment",
    "Namespace",
    "PodDisruptionBudget",
    "Role",
    "Role",
    "RoleBinding",
    "RoleBinding",
    "Service",
    "ServiceAccount",
    "ServiceAccount",
    "ServiceAccount",
]
CUSTOM_KINDS = [
    "EC2NodeClass",
    "NodePool",
    "ScaledObject",
    "SecretProviderClass",
    "SecretProviderClass",
    "TargetGroupBinding",
    "TriggerAuthentication",
]


def test_every_kubernetes_object_is_checked_by_one_validator():
    buckets = by_bucket()
    # Karpenter, NVIDIA device plugin, LB controller, CSI driver, its AWS provider, KEDA, dcgm-exporter
    assert len(buckets["release"]) == 7
    assert sorted(o["kind"] for o in buckets["custom"]) == CUSTOM_KINDS
    assert sorted(o["kind"] for o in buckets["builtin"]) == BUILTIN_KINDS
    assert sum(len(v) for v in buckets.values()) == len(k8s_objects())


@pytest.mark.parametrize("index", range(len(BUILTIN_KINDS)))
def test_builtin_objects_are_strictly_valid_for_the_pinned_version(index):
    obj = by_bucket()["builtin"][index]
    kubernetes_validate.validate(obj, f"{kubernetes_version()}.0", strict=True)


def test_strict_validation_fails_on_an_unknown_field_and_a_missing_schema():
    obj = copy.deepcopy(by_bucket()["builtin"][0])
    obj["metadata"]["labelz"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, f"{kubernetes_version()}.0", strict=True)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(by_bucket()["custom"][0], f"{kubernetes_version()}.0", strict=True)


def test_custom_resources_match_the_upstream_crd_schema():
    for obj in by_bucket()["custom"]:
        validate_custom(obj)


@pytest.mark.parametrize(
    ("kind", "path", "bad"),
    [
        ("NodePool", ("spec", "disruption", "consolidationPolicy"), "WhenIdle"),
        ("NodePool", ("spec", "template", "spec", "expireAfter"), "7 days"),
        ("EC2NodeClass", ("spec", "metadataOptions", "httpTokens"), "optional-ish"),
        ("EC2NodeClass", ("spec", "blockDeviceMappings", 0, "ebs", "volumeType"), "gp9"),
    ],
)
def test_the_crd_schema_check_can_fail(kind, path, bad):
    obj = copy.deepcopy(next(o for o in by_bucket()["custom"] if o["kind"] == kind))
    node = obj
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = bad
    with pytest.raises(jsonschema.ValidationError):
        validate_custom(obj)


def _cel_rules(node: Any) -> int:
    if isinstance(node, dict):
        return len(node.get("x-kubernetes-validations", [])) + sum(_cel_rules(v) for v in node.values())
    if isinstance(node, list):
        return sum(_cel_rules(v) for v in node)
    return 0


def test_cel_rules_not_enforced_offline_are_counted():
    # jsonschema ignores x-kubernetes-validations. A new Karpenter release changing these counts means
    # re-reading the rules against what we declare (docs/eks.md lists the ones our specs touch).
    assert _cel_rules(crd_schema("karpenter.sh/v1", "NodePool")) == CEL_RULES["NodePool"]
    assert _cel_rules(crd_schema("karpenter.k8s.aws/v1", "EC2NodeClass")) == CEL_RULES["EC2NodeClass"]


CEL_RULES = {"NodePool": 20, "EC2NodeClass": 54}  # in the pinned v1.14.1 CRDs


@pytest.mark.parametrize("stack", ["eks-dev", "eks-r1"])
def test_helm_releases_are_pinned_and_their_values_known_to_the_chart(stack):
    for release in by_bucket(stack)["release"]:
        key = (release["chart"], release["version"])
        assert key in CHART_VALUES, f"unpinned or unknown chart {key}"
        defaults = read_yaml(CHART_VALUES[key])
        assert unknown_value_keys(release["values"], defaults) == []


def test_the_values_key_check_can_fail():
    release = next(r for r in by_bucket()["release"] if r["chart"] == versions.KARPENTER_CHART)
    defaults = read_yaml(CHART_VALUES[(release["chart"], release["version"])])
    bad = copy.deepcopy(release["values"])
    bad["settings"]["interruptionQueueName"] = "typo"
    assert unknown_value_keys(bad, defaults) == ["settings.interruptionQueueName"]


# The CEL rules whose fields our specs set, translated by hand (rule text: the CRDs in tests/data/crds).
RESTRICTED_TAGS = (
    "eks:eks-cluster-name",
    "karpenter.sh/nodepool",
    "karpenter.sh/nodeclaim",
    "karpenter.k8s.aws/ec2nodeclass",
)


def _restricted_label(key: str) -> bool:
    domain = key.split("/")[0] if "/" in key else ""
    if key == "karpenter.sh/capacity-type":
        return False
    return (
        key in ("karpenter.sh/nodepool", "kubernetes.io/hostname")
        or domain.endswith("karpenter.sh")
        or (domain.endswith("karpenter.k8s.aws") and not key.startswith("karpenter.k8s.aws/instance-"))
    )


def cel_violations(obj: dict[str, Any]) -> list[str]:
    spec, out = obj["spec"], []
    if obj["kind"] == "NodePool":
        template = spec["template"]
        keys = [r["key"] for r in template["spec"]["requirements"]] + list(template["metadata"].get("labels", {}))
        out += [f"restricted label {k}" for k in keys if _restricted_label(k)]
        out += [
            f"requirement {r['key']} In without values"
            for r in template["spec"]["requirements"]
            if r["operator"] == "In" and not r.get("values")
        ]
        out += [f"nodeClassRef.{k} empty" for k in ("group", "kind", "name") if not template["spec"]["nodeClassRef"][k]]
        if "replicas" in spec and ("weight" in spec or set(spec.get("limits", {})) - {"nodes"}):
            out.append("static NodePool with weight or non-node limits")
    else:
        if ("role" in spec) == ("instanceProfile" in spec) or spec.get("role") == "":
            out.append("exactly one of role / instanceProfile, non-empty")
        aliases = [t["alias"] for t in spec["amiSelectorTerms"] if "alias" in t]
        if aliases and (
            len(spec["amiSelectorTerms"]) != 1 or aliases[0].split("@")[0] not in ("al2", "al2023", "bottlerocket")
        ):
            out.append("alias alone and of a supported family")
        if sum(1 for b in spec.get("blockDeviceMappings", []) if b.get("rootVolume")) > 1:
            out.append("more than one rootVolume")
        out += ["ebs without volumeSize" for b in spec.get("blockDeviceMappings", []) if "volumeSize" not in b["ebs"]]
        out += [f"{k} empty" for k in ("subnetSelectorTerms", "securityGroupSelectorTerms") if not spec[k]]
        out += [
            f"{k}[] without id/tags"
            for k in ("subnetSelectorTerms", "securityGroupSelectorTerms")
            for t in spec[k]
            if not (t.get("id") or t.get("tags"))
        ]
        out += [
            f"restricted tag {k}"
            for k in spec.get("tags", {})
            if k in RESTRICTED_TAGS or k.startswith("kubernetes.io/cluster") or k == ""
        ]
    return out


def test_cel_rules_that_touch_our_specs_hold():
    objects = [obj for obj in by_bucket()["custom"] if obj["kind"] in ("NodePool", "EC2NodeClass")]
    assert {obj["kind"] for obj in objects} == {"NodePool", "EC2NodeClass"}
    for obj in objects:
        assert cel_violations(obj) == [], obj["kind"]


def test_the_hand_translated_cel_rules_can_fail():
    pool = copy.deepcopy(next(o for o in by_bucket()["custom"] if o["kind"] == "NodePool"))
    pool["spec"]["template"]["metadata"]["labels"]["karpenter.sh/custom"] = "x"
    node_class = copy.deepcopy(next(o for o in by_bucket()["custom"] if o["kind"] == "EC2NodeClass"))
    node_class["spec"]["tags"]["kubernetes.io/cluster/x"] = "owned"
    node_class["spec"]["securityGroupSelectorTerms"] = []
    assert cel_violations(pool) == ["restricted label karpenter.sh/custom"]
    assert cel_violations(node_class) == ["securityGroupSelectorTerms empty", "restricted tag kubernetes.io/cluster/x"]
