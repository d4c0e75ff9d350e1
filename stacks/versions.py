"""Every version the EKS platform pins, in one place (the plan shows them).

Nothing here floats: a "latest" add-on, chart or AMI would change under a stack between two `up`s
(amazon-eks-ami#2554: an unpinned AL2023 NVIDIA AMI update broke vLLM on p5en). Bump deliberately,
with the source of the new value, and re-run the offline checks (tests/test_eks_*.py).
Sources read 2026-12-01 unless a line says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

# Kubernetes minor versions a stack may pin (eks.kubernetesVersion). A version is listed only when
# (1) EKS offers it in standard support for a while yet: 1.35 released 2026-01-28, standard support to
# 2027-03-27 (endoflife.date/amazon-eks, EKS user guide "Kubernetes version lifecycle": 14 months standard).
# 1.34 (standard support to 2026-12-02, i.e. tomorrow on 2026-12-01) is dropped: a cluster created on it
# would enter paid extended support and fail Security Hub EKS.2 a day later;
# (2) the pinned Karpenter supports it: 1.14.x supports 1.26-1.36
# (aws/karpenter-provider-aws hack/docs/compatibilitymatrix_gen/compatibility.yaml @ v1.14.1);
# (3) every managed add-on below has a sourced version for it. 1.36 is on EKS (kube-proxy and CoreDNS
# tables list it) but no sourced vpc-cni / eks-pod-identity-agent pin was found: not offered yet.
DEFAULT_KUBERNETES_VERSION = "1.35"


@dataclass(frozen=True)
class AddonVersions:
    vpc_cni: str
    coredns: str
    kube_proxy: str
    pod_identity_agent: str

    def by_name(self) -> dict[str, str]:
        """EKS add-on name -> version."""
        return {
            "vpc-cni": self.vpc_cni,
            "kube-proxy": self.kube_proxy,
            "eks-pod-identity-agent": self.pod_identity_agent,
            "coredns": self.coredns,
        }


# Managed add-on versions per Kubernetes version. kube-proxy and CoreDNS: the "latest version of the
# Amazon EKS add-on type" tables of docs.aws.amazon.com/ja_jp/eks/latest/userguide/managing-kube-proxy.md
# and managing-coredns.md (the newest snapshot found, listing 1.36). vpc-cni: v1.21.1-eksbuild.8, the
# version given for 1.29-1.35 in a public EKS networking notes table (no AWS table for 1.35 was found).
# eks-pod-identity-agent: v1.3.9-eksbuild.3 (pinned in public Terraform, nvhuu99/order-system-deploy
# pod_identity_agent.tf); the agent is not tied to a Kubernetes minor. Before the first `up` of a new
# stack, confirm with `aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>`:
# EKS refuses a version it does not offer for the cluster version (CreateAddon InvalidParameterException).
ADDON_VERSIONS: dict[str, AddonVersions] = {
    "1.35": AddonVersions(
        vpc_cni="v1.21.1-eksbuild.8",
        coredns="v1.14.3-eksbuild.3",
        kube_proxy="v1.35.3-eksbuild.13",
        pod_identity_agent="v1.3.9-eksbuild.3",
    ),
}
SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = tuple(ADDON_VERSIONS)

# Karpenter: chart oci://public.ecr.aws/karpenter/karpenter, version = release. v1.14.1 is the newest
# release tag in aws/karpenter-provider-aws (tag commit bde00654cd316fddb3dccfba3f5ac07039865429,
# 2026-08-20; the chart's Chart.yaml says 1.14.1 from the "Stable Release updates Release v1.14.1"
# commit c88abbbad455186e69e30296c595e474123e9bc1). CRDs kept in tests/data/crds (see SOURCE there).
KARPENTER_CHART = "oci://public.ecr.aws/karpenter/karpenter"
KARPENTER_VERSION = "1.14.1"

# NVIDIA device plugin: chart nvidia-device-plugin from https://nvidia.github.io/k8s-device-plugin,
# v0.20.0 = newest tag of NVIDIA/k8s-device-plugin (commit 1b826acc6af3079d8923bac395c3124b8861a9a6).
DEVICE_PLUGIN_CHART = "nvidia-device-plugin"
DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin"
DEVICE_PLUGIN_VERSION = "0.20.0"

# EKS-optimized AL2023 AMI release for Karpenter's EC2NodeClass (`alias: al2023@<this>`; Karpenter picks
# the NVIDIA variant for GPU instance types). v20260812 is the newest dated alias found pinned in public
# Karpenter manifests (2026-08). Check it exists for the cluster version: `aws ssm get-parameter --name
#   /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/x86_64/nvidia/
#   amazon-eks-node-al2023-x86_64-nvidia-<k8s>-v20260812/image_id` (one line).
AMI_RELEASE = "v20260812"


def ami_alias(release: str = AMI_RELEASE) -> str:
    return f"al2023@{release}"


def as_plan(kubernetes_version: str) -> dict[str, object]:
    """What `make plan` shows for an EKS stack."""
    return {
        "kubernetes": kubernetes_version,
        "addons": ADDON_VERSIONS[kubernetes_version].by_name(),
        "karpenter": KARPENTER_VERSION,
        "nvidiaDevicePlugin": DEVICE_PLUGIN_VERSION,
        "gpuAmiAlias": ami_alias(),
        **serving_addons(),
    }


# --- Serving add-ons (issue 12). Each is the newest release tag of its repository in the snapshot fetched
# 2026-12-01; the CRDs and default values of these exact tags are kept in tests/data (SOURCE files there).
# AWS Load Balancer Controller: chart eks/aws-load-balancer-controller 3.5.0 = app v3.5.0 (helm/.../Chart.yaml
# at tag v3.5.0, commit 11eb202c97e4ae2ee45e0658c4cde9a4b59f33d4); IAM policy vendored from the same tag.
LB_CONTROLLER_CHART = "aws-load-balancer-controller"
LB_CONTROLLER_REPO = "https://aws.github.io/eks-charts"
LB_CONTROLLER_VERSION = "3.5.0"
# Secrets Store CSI driver v1.6.0 (commit 4960f9637c51ad9cb9ef264481bc6d9a98bf1f1c) and its AWS provider
# (ASCP) chart 3.1.1 (commit 5f47771b11645e19c11057dc690d3012f7a2345d). The ASCP chart's own driver
# dependency floats ("^1"), so it is switched off and the driver installed from its own pinned chart.
CSI_DRIVER_CHART = "secrets-store-csi-driver"
CSI_DRIVER_REPO = "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts"
CSI_DRIVER_VERSION = "1.6.0"
ASCP_CHART = "secrets-store-csi-driver-provider-aws"
ASCP_REPO = "https://aws.github.io/secrets-store-csi-driver-provider-aws"
ASCP_VERSION = "3.1.1"
# KEDA 2.20.2: chart kedacore/keda 2.20.2 (kedacore/charts tag v2.20.2, cbb9bb8ce0809dc9048f72302f7c09765d66ed56),
# CRDs from kedacore/keda tag v2.20.2 (68a5b5028f35b22d50597c69819ab32c4e92f21a).
KEDA_CHART = "keda"
KEDA_REPO = "https://kedacore.github.io/charts"
KEDA_VERSION = "2.20.2"
# LeaderWorkerSet v0.10.0 (commit 2161f38ff333f9e24d3c44adef7cd5d9787cac00): chart oci://registry.k8s.io/lws/charts/lws,
# version 0.10.0 (the project's "Install by Helm" docs at that tag). Installed only for multi-node stacks.
LWS_CHART = "oci://registry.k8s.io/lws/charts/lws"
LWS_VERSION = "0.10.0"

# AWS EFA Kubernetes device plugin: chart aws-efa-k8s-device-plugin v0.5.30 (app/image v0.5.20) from
# https://aws.github.io/eks-charts; aws/eks-charts stable/aws-efa-k8s-device-plugin/Chart.yaml at commit
# bfe91c4b9257c80f754ad4b3d6a9a3c239b2b8ec (2026-07-21, the chart's last change in the snapshot fetched
# 2026-12-01, HEAD 5239609242f3430be50fb0b714a24d3ef2b47983). The chart version carries the "v". Multi-node only.
EFA_PLUGIN_CHART = "aws-efa-k8s-device-plugin"
EFA_PLUGIN_REPO = "https://aws.github.io/eks-charts"
EFA_PLUGIN_VERSION = "v0.5.30"

# Metrics into CloudWatch (components/eks/cloudwatch_metrics.py). AWS Distro for OpenTelemetry collector
# v0.49.0: newest tag of aws-observability/aws-otel-collector in the snapshot fetched 2026-12-01 (VERSION file
# at HEAD ed0b1d595c795442480c8e83435b9bf7d79429b2, 2026-07-16), image public.ecr.aws/aws-observability/
# aws-otel-collector:v0.49.0. NVIDIA dcgm-exporter chart 4.8.2 (image 4.5.3-4.8.2-distroless) from
# https://nvidia.github.io/dcgm-exporter/helm-charts: NVIDIA/dcgm-exporter deployment/Chart.yaml at tag
# 4.5.3-4.8.2 (691c92762eb551313c825f6efe4ceeee20982801), the newest tag in the snapshot fetched 2026-12-01.
ADOT_COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
DCGM_EXPORTER_CHART = "dcgm-exporter"
DCGM_EXPORTER_REPO = "https://nvidia.github.io/dcgm-exporter/helm-charts"
DCGM_EXPORTER_VERSION = "4.8.2"

# The tier router's log shipper on tiered EKS stacks (components/eks/router_logs.py): chart aws-for-fluent-bit
# 0.2.0 from https://aws.github.io/eks-charts, aws/eks-charts stable/aws-for-fluent-bit at
# 2942cdce0d98bd257822c64520779a05c25df2c2 (2026-02-03, "Upgrade aws-for-fluent-bit chart to v0.2.0 (AWS for
# Fluent Bit 3.2.1)" #1294; unchanged to the snapshot HEAD 5239609242f3430be50fb0b714a24d3ef2b47983 fetched
# 2026-12-01). Its default image public.ecr.aws/aws-observability/aws-for-fluent-bit:3.2.1 is Fluent Bit v4.2.2
# (aws/aws-for-fluent-bit#1069, release notes of 3.2.1). No values.schema.json in the chart (git ls-tree).
FLUENT_BIT_CHART = "aws-for-fluent-bit"
FLUENT_BIT_REPO = "https://aws.github.io/eks-charts"
FLUENT_BIT_VERSION = "0.2.0"


def serving_addons() -> dict[str, str]:
    return {
        "awsLoadBalancerController": LB_CONTROLLER_VERSION,
        "secretsStoreCsiDriver": CSI_DRIVER_VERSION,
        "secretsStoreAwsProvider": ASCP_VERSION,
        "keda": KEDA_VERSION,
        "leaderWorkerSet": LWS_VERSION,
        "efaDevicePlugin": EFA_PLUGIN_VERSION,
        "adotCollector": ADOT_COLLECTOR_IMAGE.rsplit(":", 1)[1],
        "dcgmExporter": DCGM_EXPORTER_VERSION,
        "awsForFluentBit": FLUENT_BIT_VERSION,
    }
