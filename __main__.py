"""deepseek-cloud: load the stack config, build the stack, export its outputs."""

import pulumi

from stacks.build import build_stack
from stacks.config import load_stack

context = load_stack()  # also read by the offline plan (sizing, cost) after the run
for name, value in build_stack(context).items():
    pulumi.export(name, value)
