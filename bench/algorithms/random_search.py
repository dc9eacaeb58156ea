"""Random search without replacement."""

from __future__ import annotations

import numpy as np

from bench.run import Run


def random_search(run: Run, rng: np.random.Generator) -> None:
    """Evaluate distinct architectures in random order until the run is done.

    On a numbered space this walks a random permutation of the indices, so no
    architecture is drawn twice; otherwise it samples and skips seen ones.
    """
    space = run.space
    if space.indexable:
        for i in rng.permutation(space.size):
            if run.done:
                return
            run.evaluate(space.from_index(int(i)))
        return
    while not run.done:
        arch = space.sample(rng)
        if not run.seen(arch):
            run.evaluate(arch)
