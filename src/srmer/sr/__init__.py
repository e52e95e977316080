"""Super-resolution: architectures, checkpoint loading, training, inference and benchmark SR methods."""

from srmer.sr.methods import SR_METHODS, SRMethod, get_method

__all__ = ["SR_METHODS", "SRMethod", "get_method"]
