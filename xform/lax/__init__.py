"""xform.lax: the primitives, with jax.lax's function names and signatures.

Each family module defines its primitives with every rule registered next to them, and the
public functions built on them; this package re-exports the public functions, and the
primitives themselves under jax.lax's ``*_p`` names (the table in ``_primitive_table.py``).
"""

from xform.lax.call import jit_p as jit_p
from xform.lax.elementwise import (
    abs as abs, acos as acos, acosh as acosh, add as add, asin as asin, asinh as asinh,
    atan as atan, atan2 as atan2, atanh as atanh, bitwise_and as bitwise_and,
    bitwise_not as bitwise_not, bitwise_or as bitwise_or, bitwise_xor as bitwise_xor,
    cbrt as cbrt, ceil as ceil, clamp as clamp, conj as conj,
    convert_element_type as convert_element_type, cos as cos, cosh as cosh,
    div as div, eq as eq,
    exp as exp, exp2 as exp2, expm1 as expm1, floor as floor, ge as ge, gt as gt, imag as imag,
    integer_pow as integer_pow, is_finite as is_finite, le as le, log as log,
    log1p as log1p, logistic as logistic, lt as lt, max as max, min as min, mul as mul,
    ne as ne, neg as neg, nextafter as nextafter, pow as pow, real as real, rem as rem,
    round as round, rsqrt as rsqrt, select as select, select_n as select_n,
    shift_left as shift_left, shift_right_arithmetic as shift_right_arithmetic,
    shift_right_logical as shift_right_logical, sign as sign, sin as sin, sinh as sinh,
    sqrt as sqrt, square as square, stop_gradient as stop_gradient, sub as sub, tan as tan,
    tanh as tanh,
)
from xform.lax.indexing import *  # noqa: F401,F403
from xform.lax.scatter import *  # noqa: F401,F403
from xform.lax.linear import *  # noqa: F401,F403
from xform.lax.convolution import *  # noqa: F401,F403
from xform.lax.windowed import *  # noqa: F401,F403
from xform.lax.parallel import *  # noqa: F401,F403
from xform.lax.sharding import with_sharding_constraint as with_sharding_constraint
from xform.lax.reductions import *  # noqa: F401,F403
from xform.lax.shape import *  # noqa: F401,F403
from xform.lax.slicing import *  # noqa: F401,F403
from xform.lax.sorting import *  # noqa: F401,F403
from xform.lax import linalg as linalg
from xform.lax.control_flow import *  # noqa: F401,F403
from xform.lax.fft import FftType as FftType, fft as fft, fft_p as fft_p
from xform.lax.elementwise_more import *  # noqa: F401,F403
from xform.lax.shape_more import *  # noqa: F401,F403
from xform.lax.composite_ops import *  # noqa: F401,F403
from xform.lax.random_bits import (
    rng_bit_generator as rng_bit_generator, rng_uniform as rng_uniform,
)
from xform.lax.api_more import *  # noqa: F401,F403
from xform.lax.ragged import *  # noqa: F401,F403
from xform.lax.scaled_dot import *  # noqa: F401,F403
from xform.lax.callback import dce_sink as dce_sink, dce_sink_p as dce_sink_p

from xform.lax._primitive_table import primitive_exports as _primitive_exports

globals().update(_primitive_exports())
del _primitive_exports
