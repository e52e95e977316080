"""srmer: super-resolution for low-resolution facial micro-expression recognition."""

import os

# Busy-waiting OpenMP threads (the default) make small tensor operations tens of times slower when
# the cores are shared (parallel workers, CI). Must be set before torch loads its OpenMP runtime;
# a value the user has set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
