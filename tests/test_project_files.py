"""A clone carries its licence and citation, and they agree with the package metadata."""

import re
import tomllib

import bench


def test_licence_and_citation_agree_with_the_package(repo_root):
    meta = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    licence = (repo_root / "LICENSE").read_text()
    assert meta["license"]["text"] == "MIT" and licence.startswith("MIT License")
    for readme in ("tables/README.md", "data_cache/README.md"):  # where the data's own terms are listed
        assert readme in licence and (repo_root / readme).exists()
    cff = (repo_root / "CITATION.cff").read_text()
    fields = dict(re.findall(r"^([a-z-]+): (.+)$", cff, flags=re.M))
    assert fields["cff-version"] == "1.2.0"
    assert fields["version"] == meta["version"] == bench.__version__
    assert fields["license"] == meta["license"]["text"]
    assert "MMNAS-Bench" in fields["title"]
