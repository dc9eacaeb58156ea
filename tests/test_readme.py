"""The README's Python API example, run line by line exactly as shown, must give the results
its comments show (a number, ``nan``, a quoted string, an error class, an ``Optimum(...)``)."""

import ast
import math
import re

import numpy as np
import pytest

import bench.errors


def _api_block(repo_root) -> list[str]:
    text = (repo_root / "README.md").read_text()
    section = text[text.index("## Python API"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def _check(result, shown: str, line: str) -> None:
    """Compare a result with what the README's comment shows; other comments are prose."""
    if re.match(r"-?\d+\.\d+\b", shown):
        assert result == float(shown.split()[0]), line
    elif shown.split()[0].lower().rstrip(":,") == "nan":
        assert isinstance(result, float) and math.isnan(result), (line, result)
    elif shown.startswith("'"):
        assert result == ast.literal_eval(shown.split(":")[0]), line
    elif shown.startswith("numpy array"):
        assert isinstance(result, np.ndarray), line
    elif shown.startswith("Optimum("):
        for key, value in re.findall(r"(\w+)=([^,)]+)", shown):
            if value != "...":
                assert str(getattr(result, key)) == value, (line, key, getattr(result, key))


def test_python_api_example_gives_the_results_it_shows(repo_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the example saves a record in the working folder
    lines = _api_block(repo_root)
    assert any("on_missing=\"nan\"" in line for line in lines)
    ns: dict = {}
    checked = 0
    for line in lines:
        code, _, shown = line.partition("  # ")
        code, shown = code.strip(), shown.strip()
        error = re.match(r"(\w+Error)\b", shown)
        if error:
            with pytest.raises(getattr(bench.errors, error.group(1))):
                exec(code, ns)
            checked += 1
            continue
        tree = ast.parse(code)
        if isinstance(tree.body[0], ast.Expr):
            result = eval(code, ns)
            if shown:
                _check(result, shown, line)
                checked += 1
        else:
            exec(code, ns)
    assert checked >= 6
    # the missing value the example shows is really missing, not a value that happens to exist
    assert math.isnan(ns["o"].query(0, "zc_snip", on_missing="nan"))
