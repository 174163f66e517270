"""``xform.experimental``: JAX's experimental names that xform supports."""

from xform.lax.callback import io_callback as io_callback
