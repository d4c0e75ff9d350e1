"""Facts the policy pack (policy/deepseek_policies) decides, read from the pack's own defaults so the
config checks and the pack cannot disagree. The pack is a separate Python project (its own venv under
`pulumi policy`), so its config module is loaded by path rather than imported as a package."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

POLICY_CONFIG = Path(__file__).resolve().parents[1] / "policy" / "deepseek_policies" / "config.py"


@functools.cache
def allowed_gpu_families() -> tuple[str, ...]:
    """gpu-instance-type-allow-list's default allowedFamilies (the same in every environment: the pack's
    per-environment settings are pool size caps, MAX_SIZE_BY_ENVIRONMENT, not the family list)."""
    spec = importlib.util.spec_from_file_location("_deepseek_policy_config", POLICY_CONFIG)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(str(f).lower() for f in module.ALLOWED_GPU_FAMILIES)


def allows_gpu_type(instance_type: str) -> bool:
    return instance_type.split(".", 1)[0].lower() in allowed_gpu_families()
