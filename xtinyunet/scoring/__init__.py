"""Scoring every width candidate at initialization: the input-Jacobian sensitivity, the other
training-free proxies, and how a job uses its cores and memory."""
