"""``custom_jvp`` and ``custom_vjp``, the user-facing decorators.

The machinery (the ``custom_jvp_call`` / ``custom_vjp_call`` primitives and their rules, and the
decorator classes) lives in xform/lax/custom.py, below the libraries, because ``xform.numpy``,
``xform.scipy`` and ``xform.nn`` define functions with custom derivatives themselves.
"""

from xform.lax.custom import custom_jvp as custom_jvp, custom_vjp as custom_vjp
