"""The named choices of samplers' parameters, apart from the samplers themselves so that the
strategies' registry (and so the command line) reads them without importing a model."""

DISTRIBUTIONS = ("uniform", "normal", "clustered-uniform", "clustered-normal")  # latent sampling's draws
CRITERIA = ("maxent", "id", "positive")  # SEALS's candidate scores
