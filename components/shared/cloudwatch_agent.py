"""CloudWatch agent config for GPU hosts: NVIDIA metrics rolled up per Auto Scaling group.

The GPU alarms and dashboard read `CWAgent` / `nvidia_smi_*` metrics with the single dimension
`AutoScalingGroupName`. The agent only publishes that roll-up when its config appends the ASG name to
every metric (`append_dimensions`) *and* aggregates on it (`aggregation_dimensions`); this module is the
one place that shape is written, so alarms and hosts cannot drift apart.

Wiring (launch template user data, ECS GPU-optimized AMI; the instance role needs the managed policy
CloudWatchAgentServerPolicy — PutMetricData plus ec2:DescribeTags, which resolves the ASG name):

    yum install -y amazon-cloudwatch-agent
    /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
        -c ssm:<parameter name>          # or -c file:/opt/aws/amazon-cloudwatch-agent/etc/gpu.json

`agent_user_data()` renders exactly that.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

NAMESPACE = "CWAgent"  # the agent's default namespace; alarms and dashboard use this constant
CONFIG_PATH = "/opt/aws/amazon-cloudwatch-agent/etc/deepseek-gpu.json"
AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"

# `nvidia_gpu` measurements (docs: CloudWatch-Agent-NVIDIA-GPU); CloudWatch names them nvidia_smi_<measurement>.
GPU_MEASUREMENTS = (
    "utilization_gpu",  # % of time a kernel ran: saturation / waste alarms
    "utilization_memory",  # % of time device memory was read or written
    "memory_used",  # MiB; vLLM pre-allocates gpuMemoryUtilization of it, so expect it near-constant
    "memory_total",  # MiB; denominator for memory used %
    "temperature_gpu",
    "power_draw",
)


def metric_name(measurement: str) -> str:
    """CloudWatch metric name the agent publishes for an `nvidia_gpu` measurement."""
    return f"nvidia_smi_{measurement}"


GPU_UTILIZATION = metric_name("utilization_gpu")
GPU_MEMORY_USED = metric_name("memory_used")
GPU_MEMORY_TOTAL = metric_name("memory_total")


def cloudwatch_agent_config(asg_dimension: bool = True, interval_seconds: int = 60) -> dict[str, Any]:
    """The agent JSON config enabling NVIDIA GPU metrics.

    asg_dimension=True appends AutoScalingGroupName to every metric and aggregates on it, which is what
    the InferenceAlarms GPU alarms read. False publishes per-instance metrics only (a host outside an ASG).
    """
    if interval_seconds not in (10, 30) and (interval_seconds < 60 or interval_seconds % 60):
        raise ValueError("interval_seconds must be 10, 30 or a multiple of 60")
    append: dict[str, str] = {"InstanceId": "${aws:InstanceId}", "InstanceType": "${aws:InstanceType}"}
    aggregation: list[list[str]] = [["InstanceId"]]
    if asg_dimension:
        append["AutoScalingGroupName"] = "${aws:AutoScalingGroupName}"
        # The one-dimension roll-up the alarms read; per-instance series stay for drill-down.
        aggregation = [["AutoScalingGroupName"], ["InstanceId"]]
    return {
        "agent": {"metrics_collection_interval": interval_seconds, "run_as_user": "root"},
        "metrics": {
            "namespace": NAMESPACE,
            "append_dimensions": append,
            "aggregation_dimensions": aggregation,
            "metrics_collected": {
                "nvidia_gpu": {
                    "measurement": list(GPU_MEASUREMENTS),
                    "metrics_collection_interval": interval_seconds,
                }
            },
        },
    }


def agent_user_data(ssm_parameter_name: str | None = None, asg_dimension: bool = True) -> str:
    """Shell lines for launch template user data that install the agent and load the GPU config.

    With `ssm_parameter_name` the agent fetches the config from Parameter Store (the instance role then
    also needs ssm:GetParameter on it); without, the config is written inline to CONFIG_PATH.
    """
    lines = ["yum install -y amazon-cloudwatch-agent"]  # yum is dnf on AL2023 and works on AL2
    if ssm_parameter_name:
        source = f"ssm:{ssm_parameter_name}"
    else:
        body = json.dumps(cloudwatch_agent_config(asg_dimension), indent=2)
        # Quoted heredoc: the agent resolves ${aws:...} itself, the shell must not.
        lines.append(f"cat > {CONFIG_PATH} <<'CWAGENT_EOF'\n{body}\nCWAGENT_EOF")
        source = f"file:{CONFIG_PATH}"
    lines.append(f"{AGENT_CTL} -a fetch-config -m ec2 -s -c {shlex.quote(source)}")
    return "\n".join(lines) + "\n"
