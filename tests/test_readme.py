"""The README's account of the workflow stays equal to the workflow Snakemake parses."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import BIN, REPO


def readme_rules(readme: str) -> list[str]:
    """Rule names of the code block under "## What runs": the first word of each line that does
    not start with a space (indented lines continue the line above)."""
    section = readme.split("\n## What runs\n", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.DOTALL)[1]
    return [line.split()[0] for line in block.splitlines() if line and not line[0].isspace()]


def snakemake_rules(workdir) -> set[str]:
    """Every rule and checkpoint of the workflow, as `snakemake --list` names them."""
    shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
    run = subprocess.run(
        [BIN / "snakemake", "--snakefile", REPO / "Snakefile", "--directory", workdir, "--list"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # One rule per line, its docstring after it; continuation lines of a docstring are indented.
    return {line.split()[0] for line in run.stdout.splitlines() if line and not line[0].isspace()}


def differences(readme: str, rules: set[str]) -> tuple[list[str], list[str]]:
    """(rules the README misses, rules the README lists that the workflow does not have)."""
    listed = readme_rules(readme)
    assert len(listed) == len(set(listed)), f"README lists a rule twice: {sorted(listed)}"
    return sorted(rules - set(listed)), sorted(set(listed) - rules)


@pytest.fixture(scope="module")
def workflow_rules(tmp_path_factory):
    return snakemake_rules(tmp_path_factory.mktemp("rules"))


def test_readme_lists_every_rule_of_the_workflow_and_no_other(workflow_rules):
    missing, unknown = differences((REPO / "README.md").read_text(), workflow_rules)
    assert missing == [], f"README.md, 'What runs', misses the rules {missing}"
    assert unknown == [], f"README.md, 'What runs', lists rules the workflow lacks: {unknown}"


def test_a_missing_or_an_invented_rule_is_a_difference(workflow_rules):
    readme = (REPO / "README.md").read_text()
    without_manifest = readme.replace("\nwrite_manifest ", "\n")
    assert differences(without_manifest, workflow_rules) == (["write_manifest"], [])
    renamed = readme.replace("\nmake_table ", "\nmake_tables ")
    assert differences(renamed, workflow_rules) == (["make_table"], ["make_tables"])
