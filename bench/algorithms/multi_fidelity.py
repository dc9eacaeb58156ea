"""Multi-fidelity search on an epoch fidelity, driven by Optuna's pruners (not rewritten here).

Each trial samples an architecture through the space's parameters (:func:`bench.adapters.suggest_arch`),
trains it epoch by epoch through ``run.evaluate(arch, epochs=k)`` (charged per epoch, see
:class:`bench.trained_run.TrainedRun`), reports each epoch's validation value to the trial, and
stops where the pruner says. A model that reaches its last epoch (or its early stop) is a full
evaluation and may become the incumbent; a pruned one never is.

* ``asha``: random sampling with Optuna's ``SuccessiveHalvingPruner`` (asynchronous successive
  halving, Li et al. 2020). Optuna has no synchronous successive halving; with one trial at a time,
  the asynchronous rule promotes a model as soon as it is in the top 1/eta of its rung so far.
* ``hyperband``: random sampling with Optuna's ``HyperbandPruner`` (brackets of successive halving
  with different minimum resources).
* ``tpe-hyperband``: Optuna's ``TPESampler`` with its ``HyperbandPruner``, the pairing Optuna
  documents as BOHB-like (it is not BOHB's own kernel density model).

The study is in memory, named by the run's algorithm and seed (the Hyperband pruner assigns
brackets by a hash of the study name), and its sampler is seeded from the run's generator, so a
seed repeats bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.core.presets import preset_algorithm
from bench.errors import InvalidArgumentError

#: trials in a row that add no charged work before a search stops (every architecture it samples
#: is already trained as far as the pruner lets it go: a small space, searched out)
STALL_TRIALS = 200


@dataclass(frozen=True)
class MultiFidelitySettings:
    """``sampler``: ``"random"`` or ``"tpe"``; ``pruner``: ``"asha"`` or ``"hyperband"``;
    ``min_epochs``: the first rung; ``eta``: the reduction factor (keep the top 1/eta per rung)."""

    sampler: str = "random"
    pruner: str = "asha"
    min_epochs: int = 1
    eta: int = 3
    label: str = ""

    def __post_init__(self):
        if self.sampler not in ("random", "tpe"):
            raise InvalidArgumentError(f"sampler must be 'random' or 'tpe', got {self.sampler!r}")
        if self.pruner not in ("asha", "hyperband"):
            raise InvalidArgumentError(f"pruner must be 'asha' or 'hyperband', got {self.pruner!r}")
        if not (isinstance(self.min_epochs, int) and self.min_epochs >= 1):
            raise InvalidArgumentError(f"min_epochs must be an int >= 1, got {self.min_epochs!r}")
        if not (isinstance(self.eta, int) and self.eta >= 2):
            raise InvalidArgumentError(f"eta must be an int >= 2, got {self.eta!r}")


PRESETS = {
    "asha": MultiFidelitySettings("random", "asha", label="ASHA"),
    "hyperband": MultiFidelitySettings("random", "hyperband", label="Hyperband"),
    "tpe-hyperband": MultiFidelitySettings("tpe", "hyperband", label="TPE + Hyperband"),
}


def multi_fidelity(run, rng: np.random.Generator, settings: MultiFidelitySettings | None = None,
                   name: str = "") -> None:
    """Search ``run`` (a :class:`~bench.trained_run.TrainedRun` at ``fidelity="epochs"``) until its
    budget is spent, with the sampler and pruner of ``settings`` (default: ASHA)."""
    from bench.adapters import _require, suggest_arch

    optuna = _require("optuna", "optuna")
    settings = settings or PRESETS["asha"]
    if getattr(run, "fidelity", "full") != "epochs":
        raise InvalidArgumentError(
            f"{run.record.algo or 'a multi-fidelity search'} trains models part-way: it needs a run at an epoch "
            "fidelity (`compare --fidelity epochs` on a trained benchmark whose records hold validation curves)")
    max_epochs = run.max_epochs
    if settings.min_epochs > max_epochs:
        raise InvalidArgumentError(f"min_epochs={settings.min_epochs} is more than a full training ({max_epochs} epochs)")
    seed = int(rng.integers(2**31 - 1))
    sampler = (optuna.samplers.TPESampler(seed=seed) if settings.sampler == "tpe"
               else optuna.samplers.RandomSampler(seed=seed))
    pruner = (optuna.pruners.HyperbandPruner(min_resource=settings.min_epochs, max_resource=max_epochs,
                                             reduction_factor=settings.eta) if settings.pruner == "hyperband"
              else optuna.pruners.SuccessiveHalvingPruner(min_resource=settings.min_epochs,
                                                          reduction_factor=settings.eta))
    direction = "maximize" if run.record.direction == "max" else "minimize"
    stall = [0]

    def objective(trial) -> float:
        arch = suggest_arch(trial, run.space)
        before = run.sim_seconds
        value = float("nan")
        try:
            for k in range(1, max_epochs + 1):
                if run.done:
                    study.stop()
                    raise optuna.TrialPruned()
                value = run.evaluate(arch, epochs=k)
                if run.seen(arch):  # its training is complete (the last epoch or its early stop)
                    return value
                trial.report(value, k)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return value
        finally:
            stall[0] = stall[0] + 1 if run.sim_seconds == before else 0
            if stall[0] >= STALL_TRIALS:
                study.stop()

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial otherwise
    try:
        study = optuna.create_study(study_name=f"{run.record.algo or 'mf'}-seed{run.record.seed}",
                                    direction=direction, sampler=sampler, pruner=pruner)
        study.optimize(objective, n_trials=None)
    finally:
        optuna.logging.set_verbosity(level)


#: the multi-fidelity algorithms, by name (they need ``--fidelity epochs``)
MULTI_FIDELITY = {name: preset_algorithm(name, s, multi_fidelity, "Multi-fidelity search (Optuna)")
                  for name, s in PRESETS.items()}
