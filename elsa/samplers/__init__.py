"""Ways of choosing what to label, all behind :class:`Sampler.select`.

Each sampler is imported when first used (PEP 562), so that the strategies' registry can
read :mod:`.choices` without loading scikit-learn.
"""

from .._lazy import lazy_names

_WHERE = {
    "Sampler": "base", "BlendSampler": "blend", "CALSampler": "cal", "ConfidenceSampler": "confidence",
    "FinalSearch": "confidence", "ENSSampler": "ens", "FarS": "fars", "GreedyS": "greedys", "GridS": "grids",
    "KNNSearchSampler": "knn_search", "LatentSampler": "latent", "NearestNeighbourSampler": "nn",
    "PortfolioSampler": "portfolio", "RandS": "rands", "RandomSampler": "random", "SEALSSampler": "seals",
    "UncertaintySampler": "uncertainty", "USL": "usl", "USLT": "usl_t",
}
__all__ = sorted(_WHERE) + ["CandidatePool"]
__getattr__ = lazy_names(__name__, {**_WHERE, "CandidatePool": "seals"}, globals())
