"""The conda environment pins exactly what the pip install pins."""

import tomllib

import yaml

from conftest import REPO


def test_conda_env_pins_the_same_versions_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "envs" / "xtinyunet.yaml").read_text())
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert sorted(pip_section) == sorted(project["dependencies"])
    assert all("==" in requirement for requirement in project["dependencies"])
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11"
