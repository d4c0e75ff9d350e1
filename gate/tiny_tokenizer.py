"""A tokenizer the load generator can load from disk, for tests on loopback (the HF Hub is unreachable there).

Byte-level BPE with no merges: every byte is one token, so any prompt encodes and the test server's one-letter
chunks count as one token each. Built with the `tokenizers` library that AIPerf installs (transformers
depends on it); run it with the load generator's Python: `venv-loadtest/bin/python -m gate.tiny_tokenizer DIR`.
Against a real stack, pass the served model's own tokenizer (its Hugging Face id) instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def build(directory: Path) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokenizer = Tokenizer(models.BPE(vocab={s: i for i, s in enumerate(alphabet)}, merges=[]))
    tokenizer.pre_tokenizer = byte_level
    tokenizer.decoder = decoders.ByteLevel()
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 1_000_000}
    (directory / "tokenizer_config.json").write_text(json.dumps(config))
    return directory


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
