"""Test-session set-up shared by every test module."""

import os

# Before any test module imports torch: passive OpenMP waiting keeps small tensor operations fast
# when the 2 cores are shared (see srmer/__init__.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
