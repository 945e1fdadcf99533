"""Typed errors. Each carries one sentence a user can act on; CLI and HTTP layers print it as-is."""


class SPPEError(Exception):
    """Base class of every error the project raises on purpose."""


class ImageError(SPPEError, ValueError):
    """Bytes that are not a usable image or mask (corrupt, truncated, too large, wrong shape)."""


class NotAnImageError(ImageError):
    """Bytes that are not an image of a supported format at all (HTTP 415)."""


class ImageTooLargeError(ImageError):
    """An image (or upload) over the configured size or pixel limits (HTTP 413)."""


class UnknownInstructionError(SPPEError, KeyError):
    """An instruction code that is not one of the 65 SPPE instructions."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "unknown instruction"


class UnknownCategoryError(SPPEError, KeyError):
    """A privacy category id that is not one of the 36 categories."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown category"


class BenchmarkError(SPPEError):
    """A benchmark folder that is missing, incomplete, corrupt or of another schema version."""


class BackendUnavailableError(SPPEError, RuntimeError):
    """An optional real backend whose weights or package are missing; the message names the setting."""


class ConfigError(SPPEError, ValueError):
    """A configuration value or override that cannot be applied."""


class TrackingError(SPPEError):
    """The MLflow tracking server or model registry could not answer (never read as "no model")."""
