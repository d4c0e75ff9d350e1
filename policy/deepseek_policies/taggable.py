"""Which pulumi-aws resource types accept `tags`, derived from the installed pulumi-aws Python SDK.

Importing `pulumi_aws` registers every resource module with the Pulumi runtime (type token -> module
and class); that index is read at import time. Whether a class accepts `tags` is then decided by
introspecting its `_internal_init` signature (the real constructor behind the `@overload`ed
`__init__`), or the overloads themselves. Importing all ~250 service modules to pre-compute the full
list takes ~20 s, far too slow for a policy pack the engine boots on every preview, so each type is
decided on first use and cached.

First use reads the class's source file rather than importing its service module: the parameter list of
the generated `_internal_init` in `pulumi_aws/<service>/<resource>.py` is the same signature
`inspect.signature` reports, and reading one file takes about a millisecond, where importing a service
module (its `_inputs` alone: every nested input class, e.g. wafv2's rule statements) took up to 0.8 s of a
pack's start. The import path stays as the fallback for a class whose file or constructor is not where
the generator puts them; tests/test_tagging.py holds both paths to the same answer for every type the
shipped stacks declare. `taggable_types()` computes the full list for tooling.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import re
import typing
from pathlib import Path

_PKG = "aws"


def _registry() -> dict[str, tuple[str, str]]:
    """type token -> (python module, class name), from pulumi-aws's resource-module registrations."""
    try:
        importlib.import_module("pulumi_aws")
        from pulumi.runtime import rpc
    except ImportError:  # pulumi-aws not installed: callers fall back to "props contain tags"
        return {}
    index: dict[str, tuple[str, str]] = {}
    for key, modules in list(getattr(rpc, "_RESOURCE_MODULES", {}).items()):
        if not key.startswith(f"{_PKG}:"):
            continue
        for module in modules:
            info = getattr(module, "mod_info", None)
            if isinstance(info, dict):
                for token, cls in info.get("classes", {}).items():
                    index[token] = (info["fqn"], cls)
    return index


def _lookup(token: str) -> tuple[str, str] | None:
    hit = _REGISTRY.get(token)
    if hit is not None:
        return hit
    # Fall back to the public lookup (e.g. if the private registry layout changes).
    try:
        from pulumi.runtime import rpc

        pkg, mod, _name = token.split(":")
        module = rpc.get_resource_module(pkg, mod, "")
    except (ImportError, ValueError):
        return None
    info = getattr(module, "mod_info", None)
    if isinstance(info, dict) and token in info.get("classes", {}):
        return info["fqn"], info["classes"][token]
    return None


def _accepts_tags(cls: type) -> bool:
    init = getattr(cls, "_internal_init", None)
    if init is not None:
        return "tags" in inspect.signature(init).parameters
    for overload in typing.get_overloads(cls.__init__):
        if "tags" in inspect.signature(overload).parameters:
            return True
    return "tags" in inspect.signature(cls.__init__).parameters


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _package_dir(fqn: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(fqn)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def _source_accepts_tags(fqn: str, cls_name: str) -> bool | None:
    """Whether the generated `_internal_init` of `cls_name` (in `<fqn>/<snake name>.py`) has a `tags`
    parameter, read from the file; None when the file or the constructor is not where the generator puts
    them."""
    package = _package_dir(fqn)
    if package is None:
        return None
    try:
        text = (package / f"{_snake(cls_name)}.py").read_text()
    except OSError:
        return None
    start = text.find(f"\nclass {cls_name}(pulumi.CustomResource):\n")
    init = text.find("    def _internal_init(__self__,", start) if start >= 0 else -1
    end = text.find("):\n", init) if init >= 0 else -1
    if end < 0 or text.find("\nclass ", start + 1, init) >= 0:  # no constructor, or it belongs to another class
        return None
    return re.search(r"^\s+tags\s*:", text[init:end], re.MULTILINE) is not None


@functools.cache
def sdk_accepts_tags(token: str) -> bool | None:
    """True/False for a known pulumi-aws type token, None when the SDK does not know the type."""
    found = _lookup(token)
    if found is None:
        return None
    fqn, cls_name = found
    from_source = _source_accepts_tags(fqn, cls_name)
    if from_source is not None:
        return from_source
    return _imported_accepts_tags(fqn, cls_name)


def _imported_accepts_tags(fqn: str, cls_name: str) -> bool | None:
    try:
        cls = getattr(importlib.import_module(fqn), cls_name)
    except (ImportError, AttributeError):
        return None
    return _accepts_tags(cls)


def taggable_types() -> list[str]:
    """Every pulumi-aws type token whose resource class accepts `tags` (slow: imports all modules)."""
    return sorted(t for t in _REGISTRY if sdk_accepts_tags(t))


def known_types() -> int:
    return len(_REGISTRY)


_REGISTRY = _registry()
