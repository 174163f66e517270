"""xform.scipy: ``jax.scipy``'s functions, built from xform.lax (so they transform)."""

from xform.scipy import linalg as linalg
from xform.scipy import optimize as optimize
from xform.scipy import signal as signal
from xform.scipy import special as special
from xform.scipy import stats as stats
