"""serve sub-package."""
