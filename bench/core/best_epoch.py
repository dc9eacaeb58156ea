"""Early stopping on a validation score, shared by the trained families' training loops."""

from __future__ import annotations

from bench.errors import BenchError


class TrainingDivergedError(BenchError, RuntimeError):
    """No epoch gave a finite validation score (the weights diverged)."""


class BestEpoch:
    """Early stopping on a validation score: keeps the best epoch's weights, says when
    ``patience`` epochs have passed without improvement, restores the best weights."""

    def __init__(self, higher_is_better: bool, patience: int):
        self.sign, self.patience = (1.0 if higher_is_better else -1.0), patience
        self.best, self.epoch, self.state = float("-inf"), 0, None
        self.curve: list[float] = []

    def update(self, epoch: int, value: float, model) -> bool:
        """Record one epoch's score; True when training should stop."""
        self.curve.append(value)
        if self.sign * value > self.best:
            self.best, self.epoch = self.sign * value, epoch
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        return epoch - self.epoch >= self.patience

    @property
    def value(self) -> float:
        return self.sign * self.best

    def restore(self, model, what: str) -> None:
        """Load the best epoch's weights; a training whose every validation score was NaN is named."""
        if self.state is None:
            raise TrainingDivergedError(f"{what}: no epoch gave a finite validation score (training diverged)")
        model.load_state_dict(self.state)
