"""Black-box anonymizer training (IJCV 2026, "When Visual Privacy Protection Meets Multimodal Large Language
Models"): Pareto objectives (weighted sum, Tchebycheff, augmented Tchebycheff), zeroth-order optimisers
(critical-history SPSA, SPSA, SPSA-GC, CMA-ES, a policy-search baseline) and the counted query interface to a
model we may only query. Pure numpy here; the anonymizer network, the black boxes and the Ray job build on it.
"""
