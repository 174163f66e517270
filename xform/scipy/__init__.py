"""xform.scipy: ``jax.scipy``'s functions, built from xform.lax (so they transform)."""

from xform.scipy import linalg as linalg
# xform.scipy.special is being added separately; its import line goes here once it exists:
# from xform.scipy import special as special
