"""`make bench`: time `make plan` per stack beside its import baseline, and the test suite; write README's table.

The baseline of a stack is a fresh interpreter importing exactly the provider SDK modules (`pulumi_aws`, and
`pulumi_kubernetes` / `pulumi_docker_build` where the stack uses them) that a plan of that stack leaves in
`sys.modules` (derived from a plan run, never typed): what any program declaring those resources pays before it
declares anything, `pulumi up` included. Plans and baselines run alternately, round by round, so load from other
processes on the machine falls on both. Raw samples go to docs/bench.json; README's table between the bench
markers is rendered from that file alone (tests/test_bench.py checks that).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from offline.harness import ROOT, stack_names

RESULTS = ROOT / "docs" / "bench.json"
README = ROOT / "README.md"
START = "<!-- bench:start (written by `make bench` from docs/bench.json; do not edit) -->"
END = "<!-- bench:end -->"

# Runs in a fresh interpreter: one plan, then report what it imported and how many resources it declared.
_PROBE = """
import contextlib, io, json, sys
from offline import plan
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = plan.main(["--stack", sys.argv[1], "--format", "json"])
assert code == 0, code
doc = json.loads(out.getvalue())
PROVIDERS = ("pulumi_aws", "pulumi_kubernetes", "pulumi_docker_build")
modules = sorted(m for m in sys.modules if m.split(".")[0] in PROVIDERS)
print(json.dumps({"modules": modules, "resources": len(doc["resources"])}))
"""

_IMPORT = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)"


def probe(stack: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _PROBE, stack], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _time(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:4])} … failed ({done.returncode}):\n{done.stdout[-2000:]}")
    return elapsed, done.stdout


def measure_plans(stacks: list[str], runs: int, warmup: int = 1) -> list[dict[str, Any]]:
    rows = []
    for stack in stacks:
        found = probe(stack)
        plan_cmd = ["make", "-s", "plan", f"STACK={stack}"]
        import_cmd = [sys.executable, "-c", _IMPORT, *found["modules"]]
        plan_s: list[float] = []
        import_s: list[float] = []
        for i in range(warmup + runs):
            p, _ = _time(plan_cmd)
            b, _ = _time(import_cmd)
            if i >= warmup:
                plan_s.append(p)
                import_s.append(b)
        rows.append(
            {
                "stack": stack,
                "resources": found["resources"],
                "pulumiAwsModules": len(found["modules"]),
                "planSeconds": plan_s,
                "importSeconds": import_s,
            }
        )
    return rows


# The suite as `make test` runs it: both cores, one test file per worker (mock runs shared via tests/conftest.py).
SUITE_ARGS = ("-n", "2", "--dist", "loadfile")


def measure_suite(runs: int, *extra: str) -> dict[str, Any]:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITE_ARGS, *extra]
    seconds, tests = [], 0
    for _ in range(runs):
        elapsed, out = _time(argv)
        seconds.append(elapsed)
        match = re.search(r"(\d+) passed", out)
        tests = int(match.group(1)) if match else 0
    return {"tests": tests, "seconds": seconds}


def _mean_sd(samples: list[float]) -> str:
    if len(samples) == 1:
        return f"{samples[0]:.2f} s (one run)"
    return f"{statistics.mean(samples):.2f} s ± {statistics.stdev(samples):.2f} s"


def render(results: dict[str, Any]) -> str:
    """README's table: every figure comes from `results` (docs/bench.json)."""
    m = results["machine"]
    lines = [
        f"Measured {results['date']} by `make bench` ({m['cpus']} cores, Python {m['python']}, load average "
        f"{m['loadAverage']:.2f} at start); mean ± standard deviation of {results['planRuns']} alternating runs "
        f"after {results['warmup']} warm-up. Baseline: a fresh `python` importing exactly the provider SDK "
        "modules (pulumi_aws, pulumi_kubernetes, pulumi_docker_build) that stack's plan loads (listed by a plan run).",
        "",
        "| what | command | wall time | plan ÷ baseline |",
        "|---|---|---|---|",
    ]
    for row in results["plans"]:
        ratio = statistics.mean(row["planSeconds"]) / statistics.mean(row["importSeconds"])
        lines.append(
            f"| offline plan, {row['stack']} ({row['resources']} resources) | `make plan STACK={row['stack']}` "
            f"| {_mean_sd(row['planSeconds'])} | {ratio:.2f}× |"
        )
        lines.append(
            f"| import baseline, {row['stack']} ({row['pulumiAwsModules']} provider modules) "
            f"| `python -c 'import …'` | {_mean_sd(row['importSeconds'])} | |"
        )
    suite = results["suite"]
    command = f"venv/bin/python -m pytest -q {' '.join(SUITE_ARGS)}"
    lines.append(f"| test suite ({suite['tests']} tests) | `{command}` | {_mean_sd(suite['seconds'])} | |")
    return "\n".join(lines)


def readme_block(text: str) -> str:
    """The text between the bench markers (exactly one pair)."""
    assert text.count(START) == 1 and text.count(END) == 1, "README needs exactly one pair of bench markers"
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def write_readme(results: dict[str, Any], path: Path = README) -> None:
    text = path.read_text()
    readme_block(text)
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{START}\n{render(results)}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per plan and baseline")
    parser.add_argument("--suite-runs", type=int, default=1, help="timed runs of the test suite (0: keep last)")
    parser.add_argument("--stacks", nargs="*", default=None)
    args = parser.parse_args(argv)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results = {
        "date": date.today().isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadAverage": os.getloadavg()[0],
        },
        "planRuns": args.runs,
        "warmup": 1,
    }
    # The suite first: it checks README against docs/bench.json, which the previous bench left consistent.
    results["suite"] = measure_suite(args.suite_runs) if args.suite_runs else previous["suite"]
    results["plans"] = measure_plans(args.stacks or stack_names(), args.runs)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    write_readme(results)
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
