"""editors sub-package."""
