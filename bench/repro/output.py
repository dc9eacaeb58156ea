"""Writing a regenerated paper table: ``<id>.md`` and ``<id>.csv`` side by side with the paper."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.repro.spec import TableSpec

STATUS_TEXT = {
    "same-benchmark": "reproduced on the same benchmark (real data)",
    "proxy": "reproduced on a proxy (stand-in data)",
    "pending": "pending",
    "not-offline": "not possible offline",
}


@dataclass
class Cell:
    mean: float
    std: float = math.nan
    n: int = 0

    def text(self, nd: int = 1) -> str:
        if self.mean != self.mean:
            return "-"
        s = f"{self.mean:.{nd}f}"
        if self.std == self.std:
            s += f" +- {self.std:.{nd}f}"
        return s


@dataclass
class TableResult:
    """What a runner produced: cells per implemented row, notes, extra files."""

    cells: dict[str, list[Cell | None]] = field(default_factory=dict)
    row_notes: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    command: str = ""
    figures: list = field(default_factory=list)  # matplotlib figures, saved as <id>.png (first) / <id>-<k>.png


def _row_status(row, result: TableResult) -> tuple[str, str]:
    """A row's status and note after a run: a row the runner did not fill stays unrun."""
    if row.name in result.cells:
        return row.status, result.row_notes.get(row.name, "")
    status = row.status if row.status in ("pending", "not-offline") else "pending"
    return status, row.reason or "not produced by the runner"


def _paper_text(v: float, nd: int) -> str:
    return "-" if v != v else f"{v:.{nd}f}".rstrip("0").rstrip(".") if nd else f"{v:g}"


def write_outputs(spec: TableSpec, result: TableResult, out_dir: Path, decimals: int = 1) -> tuple[Path, Path]:
    """Write the markdown and CSV for one spec; rows without a result are pending."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for row in spec.rows:
        cells = result.cells.get(row.name)
        status, note = _row_status(row, result)
        for j, col in enumerate(spec.columns):
            c = cells[j] if cells is not None and j < len(cells) else None
            records.append({
                "row": row.name, "column": col, "paper": row.paper[j],
                "ours_mean": c.mean if c else math.nan, "ours_std": c.std if c else math.nan,
                "ours_n": c.n if c else 0, "status": status, "note": note,
            })
    df = pd.DataFrame(records)
    csv_path = out_dir / f"{spec.id}.csv"
    df.to_csv(csv_path, index=False)

    lines = [
        f"# {spec.method} {spec.table}: {spec.title}",
        "",
        f"- paper: `{spec.paper}`, {spec.table}",
        f"- unit: {spec.unit or '-'}" + (" (lower is better)" if spec.lower_is_better else ""),
        f"- regenerated: {_dt.date.today().isoformat()} by `{result.command or 'make reproduce-table TABLE=' + spec.id}`",
        "",
    ]
    if spec.protocol:
        lines += ["## Protocol", "", spec.protocol.strip(), ""]
    header = ["Method", "status"] + [f"{c} (paper)" for c in spec.columns] + [f"{c} (ours)" for c in spec.columns]
    lines += ["## Paper vs ours", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in spec.rows:
        cells = result.cells.get(row.name)
        status, _ = _row_status(row, result)
        paper = [row.paper_text[j] if j < len(row.paper_text) else _paper_text(v, decimals) for j, v in enumerate(row.paper)]
        ours = [(cells[j].text(decimals) if cells[j] is not None else "-") if cells is not None else "-" for j in range(len(spec.columns))]
        lines.append("| " + " | ".join([row.name, status] + paper + ours) + " |")
    lines += ["", "## Status per row", ""]
    groups: dict[tuple[str, str], list[str]] = {}
    for row in spec.rows:
        status, note = _row_status(row, result)
        groups.setdefault((status, note), []).append(row.name)
    for (status, note), names in groups.items():
        lines.append(f"- **{', '.join(names)}**: {STATUS_TEXT[status]}" + (f". {note}" if note else ""))
    for k, fig in enumerate(result.figures):
        png = out_dir / (f"{spec.id}.png" if k == 0 else f"{spec.id}-{k}.png")
        fig.savefig(png, dpi=110)
        lines += ["", f"![{spec.table}]({png.name})"]
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in result.notes]
    md_path = out_dir / f"{spec.id}.md"
    md_path.write_text("\n".join(lines) + "\n")
    return md_path, csv_path
