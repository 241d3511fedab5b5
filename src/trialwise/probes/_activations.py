"""Which activation modules the probes read, and how (data, no torch import).

A module is matched by ``isinstance`` against ``torch.nn.<class_name>``, so subclasses count.
Activations applied functionally (``F.relu(x)`` inside ``forward``) are invisible to module
hooks; use the module form (``nn.ReLU()``) where the probe should see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActivationKind = Literal["dead", "sigmoid", "tanh"]


@dataclass(frozen=True)
class Activation:
    """One activation class the probes read: ``kind`` selects the statistic.

    - ``dead``: share of units (features, or channels for ``N, C, ...`` outputs) whose output is
      ``<= 0`` for every example of the batch (the dying-ReLU symptom).
    - ``sigmoid`` / ``tanh``: share of outputs in the flat tails (see the thresholds below).
    """

    class_name: str
    kind: ActivationKind


ACTIVATIONS: tuple[Activation, ...] = (
    Activation("ReLU", "dead"),
    Activation("ReLU6", "dead"),
    Activation("LeakyReLU", "dead"),
    Activation("PReLU", "dead"),
    Activation("RReLU", "dead"),
    Activation("GELU", "dead"),
    Activation("Sigmoid", "sigmoid"),
    Activation("Tanh", "tanh"),
)
"""The activation table.  The ReLU family is read for dead units (seed 003: "Check the activations:
how many neurons fire? ReLU can induce 'dead' neurons"; AutoTrainer, Zhang et al. ICSE 2021, dying
ReLU); sigmoid and tanh for saturation (Glorot & Bengio, AISTATS 2010: saturated sigmoid units stall
learning).  Leaky variants and GELU are listed because a unit that never leaves their negative region
is as inactive as a dead ReLU, even if its gradient is not exactly zero."""

SIGMOID_SATURATION = 0.01
"""A sigmoid output below this or above ``1 - this`` is saturated (derivative < 0.01).  *trialwise*
threshold for the symptom Glorot & Bengio (AISTATS 2010) describe; the diagnose layer's synthetic
digits runs use the same."""

TANH_SATURATION = 0.99
"""A tanh output with ``|y| >`` this is saturated (derivative ``1 - y**2 < 0.02``).  *trialwise*, as
:data:`SIGMOID_SATURATION`."""
