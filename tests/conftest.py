import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # test modules import op_records

# tests/multidevice/ needs 8 CPU devices, which XLA fixes when JAX starts; it runs in its own
# process (tests/test_multidevice.py, or `python -m pytest tests/multidevice`), so the rest of
# the suite keeps one device.
collect_ignore = ["multidevice"]
