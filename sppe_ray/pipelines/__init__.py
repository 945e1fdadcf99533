"""pipelines sub-package."""
