"""Black-box anonymizer training (IJCV 2026, "When Visual Privacy Protection Meets Multimodal Large Language
Models"): Pareto objectives (weighted sum, Tchebycheff, augmented Tchebycheff), zeroth-order optimisers
(critical-history SPSA, SPSA, SPSA-GC, CMA-ES, a policy-search baseline), the counted query interface to a model
we may only query (in-process, Ray actors, Ray Serve, HTTP), setting 1 (the paper's recognition task), setting 2
(the editor as the black box, utility = SPPE editability) and the `learned` surrogate strategy it fits.
MLflow, the registry and the jobs are at the edge: sppe_ray/train/anonymizer.py. docs/anonymizer.md.
"""
