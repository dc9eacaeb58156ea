"""Real training of fusion architectures (torch): the decoder, the recipe, the trainer."""

from bench.training.trainer import Recipe, TrainResult, train

__all__ = ["Recipe", "TrainResult", "train"]
