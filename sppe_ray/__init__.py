"""sppe-ray: surrogate-based privacy-preserving image editing, benchmarked, trained and served on Ray."""

__version__ = "0.1.0"
