"""The documented list of rules (docs/outputs.md, "What runs") stays equal to the workflow
Snakemake parses."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import BIN, REPO

# The page whose "## What runs" code block lists every rule, one per line.
RULE_LIST_PAGE = REPO / "docs" / "outputs.md"


def documented_rules(page: str) -> list[str]:
    """Rule names of the code block under "## What runs": the first word of each line that does
    not start with a space (indented lines continue the line above)."""
    section = page.split("\n## What runs\n", 1)[1]
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


def differences(page: str, rules: set[str]) -> tuple[list[str], list[str]]:
    """(rules the page misses, rules the page lists that the workflow does not have)."""
    listed = documented_rules(page)
    assert len(listed) == len(set(listed)), f"a rule is listed twice: {sorted(listed)}"
    return sorted(rules - set(listed)), sorted(set(listed) - rules)


@pytest.fixture(scope="module")
def workflow_rules(tmp_path_factory):
    return snakemake_rules(tmp_path_factory.mktemp("rules"))


def test_the_docs_list_every_rule_of_the_workflow_and_no_other(workflow_rules):
    missing, unknown = differences(RULE_LIST_PAGE.read_text(), workflow_rules)
    assert missing == [], f"docs/outputs.md, 'What runs', misses the rules {missing}"
    assert unknown == [], f"docs/outputs.md, 'What runs', lists rules the workflow lacks: {unknown}"


def test_a_missing_or_an_invented_rule_is_a_difference(workflow_rules):
    page = RULE_LIST_PAGE.read_text()
    without_manifest = page.replace("\nwrite_manifest ", "\n")
    assert without_manifest != page
    assert differences(without_manifest, workflow_rules) == (["write_manifest"], [])
    renamed = page.replace("\nmake_table ", "\nmake_tables ")
    assert renamed != page
    assert differences(renamed, workflow_rules) == (["make_table"], ["make_tables"])
