"""README's benchmark table is `make bench`'s output: it is exactly what offline/bench.py renders from the
samples in docs/bench.json, with one plan row and one baseline row per shipped stack and one suite row.
(The timings themselves are not tested: no timed tests.)"""

from __future__ import annotations

import json
import re

import pytest

from offline import bench
from offline.harness import stack_names


def results() -> dict:
    return json.loads(bench.RESULTS.read_text())


def table_rows(block: str) -> list[list[str]]:
    rows = [line for line in block.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_readme_table_is_rendered_from_the_recorded_samples():
    assert bench.readme_block(bench.README.read_text()) == bench.render(results())


def test_table_shape():
    rows = table_rows(bench.readme_block(bench.README.read_text()))
    assert rows[0] == ["what", "command", "wall time", "plan ÷ baseline"]
    assert set(rows[1]) == {"---"}
    body = rows[2:]
    assert all(len(row) == 4 for row in body)
    expected = []
    for stack in stack_names():
        expected += [f"`make plan STACK={stack}`", "`python -c 'import …'`"]
    expected.append("`venv/bin/python -m pytest -q -n 2 --dist loadfile`")
    assert [row[1] for row in body] == expected
    for row in body:
        assert re.fullmatch(r"\d+\.\d\d s( ± \d+\.\d\d s| \(one run\))", row[2]), row[2]
    assert all(row[3].endswith("×") for row in body[:-1:2])


def test_samples_cover_every_stack_with_the_stated_run_count():
    data = results()
    assert [row["stack"] for row in data["plans"]] == stack_names()
    for row in data["plans"]:
        assert len(row["planSeconds"]) == len(row["importSeconds"]) == data["planRuns"]
        assert row["pulumiAwsModules"] > 0 and row["resources"] > 0
    assert data["suite"]["tests"] > 0 and data["suite"]["seconds"]


def test_a_hand_edit_is_caught(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{bench.START}\nold\n{bench.END}\ntail\n")
    bench.write_readme(results(), readme)
    text = readme.read_text()
    assert text.startswith("# x\n") and text.endswith("\ntail\n")
    assert bench.readme_block(text) == bench.render(results())
    edited = text.replace(" s", " s ", 1)
    assert bench.readme_block(edited) != bench.render(results())
    with pytest.raises(AssertionError, match="bench markers"):
        bench.readme_block("no markers here")
