"""environment.yml (for conda users) must list exactly pyproject.toml's dependencies."""

import tomllib

import yaml

from bmlib.core.paths import repo_root


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= set(extra)
    env = yaml.safe_load((repo_root() / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {line for line in pip_section if line != "-e ."}
    assert listed == declared, (
        f"only in pyproject: {sorted(declared - listed)}; "
        f"only in environment.yml: {sorted(listed - declared)}")
    assert "-e ." in pip_section


def test_constraints_pin_every_declared_package():
    pinned = {line.split("==")[0].lower().replace("_", "-")
              for line in (repo_root() / "constraints.txt").read_text().splitlines()
              if "==" in line and not line.startswith("#")}
    project = tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]
    names = set()
    for requirement in project["dependencies"] + sum(
            project["optional-dependencies"].values(), []):
        name = requirement.split(">")[0].split("<")[0].split("=")[0].split("[")[0]
        names.add(name.strip().lower().replace("_", "-"))
    assert names <= pinned, f"not pinned in constraints.txt: {sorted(names - pinned)}"
