"""Paper tables: specs in ``paper_repro/specs/*.toml``, runners, outputs, scoreboard."""

from bench.repro.spec import STATUSES, Row, TableSpec, load_spec, load_specs

__all__ = ["STATUSES", "Row", "TableSpec", "load_spec", "load_specs"]
