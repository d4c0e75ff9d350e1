"""The DeepSeek model catalog (stacks/models.yaml), parsed once into frozen typed entries."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from stacks.yaml_files import read_yaml

CATALOG_PATH = Path(__file__).with_name("models.yaml")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class GqaAttention(_Frozen):
    kind: Literal["gqa"]
    num_kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)


class MlaAttention(_Frozen):
    kind: Literal["mla"]
    kv_lora_rank: int = Field(gt=0)
    qk_rope_head_dim: int = Field(gt=0)


class Moe(_Frozen):
    routed_experts: int
    experts_per_token: int
    shared_experts: int


class ModelSpec(_Frozen):
    key: str = ""
    hf_id: str
    source: str
    architecture: str
    parameters_b: float = Field(gt=0)
    active_parameters_b: float = Field(gt=0)
    weight_dtype: str
    bytes_per_param: float = Field(gt=0)
    checkpoint_gb: float | None = None
    num_layers: int = Field(gt=0)
    num_attention_heads: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    attention: Annotated[GqaAttention | MlaAttention, Field(discriminator="kind")]
    moe: Moe | None = None
    max_context: int = Field(gt=0)
    license: str
    # Hugging Face commit the weights are pinned to (the model bucket prefix <hfId>/<revision>); None: the
    # model can only load from the Hub (model.loadFrom: hub).
    revision: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}$")

    @property
    def weight_bytes(self) -> float:
        """Bytes of weights vLLM loads: parameters × bytes per parameter in the published dtype."""
        return self.parameters_b * 1e9 * self.bytes_per_param


class Catalog(_Frozen):
    models: dict[str, ModelSpec]

    def resolve(self, name: str) -> ModelSpec | None:
        """A catalog key or a Hugging Face id (case-insensitive)."""
        lowered = name.lower()
        for key, spec in self.models.items():
            if lowered in (key, spec.hf_id.lower()):
                return spec
        return None

    def names(self) -> list[str]:
        return list(self.models)


@functools.cache
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    raw = read_yaml(path)
    models = {key: {**entry, "key": key} for key, entry in raw["models"].items()}
    return Catalog.model_validate({"models": models})
