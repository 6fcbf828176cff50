"""Oracles answer "is this a positive?" for a batch of item ids."""

from .simulated import NoisyOracle, PanelOracle, SecondOpinions, SimulatedOracle

__all__ = ["NoisyOracle", "PanelOracle", "SecondOpinions", "SimulatedOracle"]
