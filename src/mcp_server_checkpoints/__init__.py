"""Save checkpoints of AI coding sessions and recover them in a fresh conversation."""

# The one place the version is written; pyproject.toml reads it from here. (A literal, not
# importlib.metadata: that lookup costs ~40 ms on every hook run.)
__version__ = "0.1.0"

__all__ = ["__version__"]
