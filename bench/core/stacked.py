"""Train the seeds of one architecture at once: B copies of one network, each built under its own
seed, held as stacked weights; one training step and one prediction run for all of them through
``torch.func.vmap``. The families' batched paths (MRO, RMNAS, HF-MNAS) are built on it.

Per model: initial weights, shuffling generator, loss, optimiser state (Adam's update is
element-wise, so a stacked tensor gives each model its own), best epoch and early stopping.
Shared: the stacked kernels, which reduce in another order than one model's, and dropout, whose
masks come from one stream for the whole stack. A stacked model is therefore the same network
trained by the same recipe, but not bit-identical to its one-by-one twin, and families key
batched results apart (their recipe's ``batched`` field). Stacking removes per-operator
overhead, not arithmetic: it pays where overhead dominates a training step (small models, a
GPU) and little where the step is compute-bound; ``benchmarks/batched_training.py`` prints the
ratio and, with ``--profile``, where one-by-one training spends its time.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from bench.core.best_epoch import TrainingDivergedError


def _with_weights(forward, *args, **kwargs):
    kwargs["need_weights"] = True
    return forward(*args, **kwargs)


class ModelStack:
    """``models`` (one architecture, built under their seeds) as stacked weights.

    Every vmapped call runs a weightless copy of the first model whose attention layers
    (``nn.MultiheadAttention``) always take their explicit path (``need_weights=True``: matrix
    products and a softmax, the same arithmetic): vmap has no batching rule for the fused
    attention kernel and would loop over the models."""

    def __init__(self, models: list[nn.Module], seeds: list[int] | None = None):
        if not models:
            raise ValueError("a stack needs at least one model")
        self.models, self.size = models, len(models)
        #: each model's shuffling generator (seeded as one-by-one training seeds its own)
        self.generators = [torch.Generator().manual_seed(s) for s in seeds or []]
        self.params, self.buffers = stack_module_state(models)
        self.base = copy.deepcopy(models[0]).to("meta")
        for layer in self.base.modules():
            if isinstance(layer, nn.MultiheadAttention):
                layer.forward = functools.partial(_with_weights, layer.forward)

    @classmethod
    def seeded(cls, seeds: list[int], build) -> "ModelStack":
        """One model per seed, each ``build()`` under ``torch.manual_seed(seed)`` as one-by-one
        training builds it; then the stack's one dropout stream is seeded with the first seed."""
        models = []
        for s in seeds:
            torch.manual_seed(s)
            models.append(build())
        stack = cls(models, seeds)
        torch.manual_seed(seeds[0])
        return stack

    def parameters(self) -> list[torch.Tensor]:
        """The stacked parameters (leading axis: the model), for one optimiser over the stack."""
        return list(self.params.values())

    def _each(self, fn, shared: bool):
        def one(p, b, *args):
            return fn(lambda *inputs: functional_call(self.base, (p, b), inputs), *args)

        return vmap(one, in_dims=(0, 0) + ((None,) if shared else (0,)), randomness="different")

    def losses(self, fn, batch) -> torch.Tensor:
        """``fn(model, batch)`` for every model in training mode, ``batch`` stacked per model
        (a pytree whose tensors lead with the model axis): one loss per model, [B]."""
        self.base.train()
        return self._each(fn, shared=False)(self.params, self.buffers, batch)

    def train_epoch(self, opt: torch.optim.Optimizer, loss, batch_of, n: int, batch_size: int,
                    end: int | None = None) -> None:
        """One epoch over ``n`` rows for every model, each in the order its own generator draws:
        minibatches of ``batch_size`` starting below ``end`` (``n`` by default), ``batch_of(rows)``
        ([B, b] row indices) the stacked batch that ``loss(model, batch)`` scores."""
        device = next(iter(self.params.values())).device
        order = torch.stack([torch.randperm(n, generator=g) for g in self.generators]).to(device)
        for start in range(0, n if end is None else end, batch_size):
            losses = self.losses(loss, batch_of(order[:, start:start + batch_size]))
            opt.zero_grad()
            losses.sum().backward()  # each model's gradient is that of its own loss
            opt.step()

    def predict(self, fn, inputs) -> torch.Tensor:
        """``fn(model, inputs)`` for every model in evaluation mode without gradients, the same
        ``inputs`` for all: outputs stacked along a leading model axis."""
        self.base.eval()
        with torch.no_grad():
            return self._each(fn, shared=True)(self.params, self.buffers, inputs)

    def model(self, i: int, params: dict[str, torch.Tensor] | None = None) -> nn.Module:
        """Model ``i`` as a plain module holding row ``i`` of ``params`` (the current weights by
        default), for evaluation by the family's one-model code."""
        src = self.params if params is None else params
        m = self.models[i]
        with torch.no_grad():
            for name, p in m.named_parameters():
                p.copy_(src[name][i])
        return m


class StackedBestEpoch:
    """:class:`bench.core.best_epoch.BestEpoch` for every model of a stack: each model keeps its
    best epoch's weights and stops after ``patience`` epochs without improvement; a stopped
    model's later epochs are trained (the stack steps together) but never scored. Training can
    end when :meth:`update` returns True (every model stopped)."""

    def __init__(self, stack: ModelStack, higher_is_better: bool, patience: int):
        self.stack, self.sign, self.patience = stack, (1.0 if higher_is_better else -1.0), patience
        self.best = np.full(stack.size, -np.inf)
        self.epoch = np.zeros(stack.size, dtype=int)
        self.stopped = np.zeros(stack.size, dtype=bool)
        self.improved = np.zeros(stack.size, dtype=bool)
        self.curves: list[list[float]] = [[] for _ in range(stack.size)]
        self.state = {k: v.detach().clone() for k, v in stack.params.items()}

    def update(self, epoch: int, values) -> bool:
        """Record one epoch's score of every model (a stopped model's is ignored); True when
        every model has stopped."""
        better = np.zeros(self.stack.size, dtype=bool)
        for i, v in enumerate(values):
            if self.stopped[i]:
                continue
            v = float(v)
            self.curves[i].append(v)
            if self.sign * v > self.best[i]:
                self.best[i], self.epoch[i], better[i] = self.sign * v, epoch, True
            elif epoch - self.epoch[i] >= self.patience:
                self.stopped[i] = True
        if better.any():
            rows = torch.as_tensor(better, device=next(iter(self.state.values())).device)
            for k, v in self.stack.params.items():
                self.state[k][rows] = v.detach()[rows]
            self.improved |= better
        return bool(self.stopped.all())

    def value(self, i: int) -> float:
        return float(self.sign * self.best[i])

    def restored(self, i: int, what: str) -> nn.Module:
        """Model ``i`` with its best epoch's weights; a model no epoch scored finitely is named."""
        if not self.improved[i]:
            raise TrainingDivergedError(f"{what}: no epoch gave a finite validation score (training diverged)")
        return self.stack.model(i, self.state)

