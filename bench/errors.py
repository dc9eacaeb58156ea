"""Exception types of the public API.

Every error names the bad part and, where the choice is closed, the valid choices.
"""

from __future__ import annotations


class BenchError(Exception):
    """Base class of every error raised by mmnas-bench."""


def _choices(valid) -> str:
    valid = list(valid)
    shown = ", ".join(repr(v) for v in valid[:80])
    more = f", ... ({len(valid)} in all)" if len(valid) > 80 else ""
    return f"valid choices: {shown}{more}"


class InvalidArgumentError(BenchError, ValueError):
    """An argument of the wrong type or outside its range (a seed, a flag, a budget, an option)."""


class InvalidArchitectureError(BenchError, ValueError):
    """An architecture string or object that is not a member of the search space."""


class ArchIndexError(BenchError, IndexError):
    """A row index outside ``0 .. n_arch - 1``."""

    def __init__(self, index: int, n_arch: int):
        super().__init__(f"architecture index {index} is out of range: valid indices are 0..{n_arch - 1}")


class UnknownChoiceError(BenchError, KeyError):
    """Base of the 'unknown name' errors; the message lists the valid choices."""

    what = "name"

    def __init__(self, name, valid, context: str = ""):
        self.name = name
        self.valid = list(valid)
        ctx = f" {context}" if context else ""
        super().__init__(f"unknown {self.what} {name!r}{ctx}; {_choices(self.valid)}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return self.args[0]


class UnknownBenchmarkError(UnknownChoiceError):
    what = "benchmark"


class UnknownDatasetError(UnknownChoiceError):
    what = "dataset"


class UnknownMetricError(UnknownChoiceError):
    what = "metric"


class UnknownAlgorithmError(UnknownChoiceError):
    what = "algorithm"


class UnknownTableSpecError(UnknownChoiceError):
    what = "paper table"


class SeedIndexError(BenchError, IndexError):
    """A seed index outside the seeds a metric was recorded with."""

    def __init__(self, seed: int, n_seed: int, metric: str):
        super().__init__(f"seed index {seed} is out of range for metric {metric!r}: valid seeds are 0..{n_seed - 1}")


class MissingValueError(BenchError, LookupError):
    """The table has no value (NaN) for this architecture and metric."""


class ChecksumError(BenchError):
    """A table or source file whose checksum is not the recorded one."""


class TableCorruptError(ChecksumError):
    """A table or store file that cannot be read (truncated, overwritten); the message names it and how to restore it."""


class TableMissingError(BenchError, FileNotFoundError):
    """A table file that does not exist; the message names the command that builds it."""


class SourceMissingError(BenchError, FileNotFoundError):
    """A source data file needed by a builder is absent."""


class BudgetExhausted(BenchError):
    """A run was asked to evaluate after its budget was spent."""


class SpecError(BenchError, ValueError):
    """A paper-table spec that is malformed."""
