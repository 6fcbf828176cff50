"""Oracles answer "is this a positive?" for a batch of item ids."""

from .simulated import NoisyOracle, SimulatedOracle

__all__ = ["NoisyOracle", "SimulatedOracle"]
