"""privacy sub-package."""
