"""srmer: super-resolution for low-resolution facial micro-expression recognition."""

__version__ = "0.1.0"
