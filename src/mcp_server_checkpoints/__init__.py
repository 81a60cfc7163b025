"""Save checkpoints of AI coding sessions and recover them in a fresh conversation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcp-server-checkpoints")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]
