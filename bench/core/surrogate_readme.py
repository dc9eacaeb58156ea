"""The README's generated surrogate blocks: ``python -m bench.core.surrogate_readme`` rewrites them
from the shipped reports (``tables/SURROGATES.json``, ``tables/SURROGATE_CLAIMS.json``);
``tests/test_surrogate.py`` checks the README holds what this writes."""

from __future__ import annotations

import re
import sys

from bench.paths import REPO_ROOT


def blocks() -> dict[str, str]:
    from bench.core import surrogate_claims, surrogate_report

    return {"surrogate-report": surrogate_report.readme_table(), "surrogate-claims": surrogate_claims.readme_table()}


def render(text: str) -> str:
    """``text`` with each marked block replaced by its fenced, freshly generated content."""
    for name, body in blocks().items():
        pattern = re.compile(rf"(<!-- {name} -->\n).*?(<!-- /{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README has no <!-- {name} --> ... <!-- /{name} --> block")
        text = pattern.sub(lambda m: m.group(1) + "```text\n" + body + "\n```\n" + m.group(2), text)
    return text


if __name__ == "__main__":
    path = REPO_ROOT / "README.md"
    new = render(path.read_text())
    if "--check" in sys.argv[1:]:
        sys.exit(0 if new == path.read_text() else 1)
    path.write_text(new)
