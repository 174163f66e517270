"""xform.numpy: jax.numpy's API built from xform.lax primitives, so it traces and transforms.

    >>> import xform, xform.numpy as xnp
    >>> xform.jit(lambda x: xnp.sum(xnp.sin(x) * 2.0))(xnp.zeros(3))
    Array(0., dtype=float32)

Importing it also gives xform's tracers jax.Array's operators and methods.
"""

from jax import Array as _JaxArray

from xform.core.trace import Tracer as _Tracer
from xform.numpy import _array_methods
from xform.numpy import fft as fft
from xform.numpy import linalg as linalg
from xform.numpy._creation import (
    arange as arange, array as array, asarray as asarray, copy as copy, empty as empty,
    empty_like as empty_like, eye as eye, full as full, full_like as full_like,
    identity as identity, linspace as linspace, ones as ones, ones_like as ones_like,
    zeros as zeros, zeros_like as zeros_like,
)
from xform.numpy._dtypes import (
    ComplexWarning as ComplexWarning, bool as bool, cdouble as cdouble, character as character,
    complex_ as complex_, csingle as csingle, double as double, flexible as flexible,
    float4_e2m1fn as float4_e2m1fn, float6_e2m3fn as float6_e2m3fn,
    float6_e3m2fn as float6_e3m2fn, float8_e3m4 as float8_e3m4, float8_e4m3 as float8_e4m3,
    float8_e4m3b11fnuz as float8_e4m3b11fnuz, float8_e4m3fn as float8_e4m3fn,
    float8_e4m3fnuz as float8_e4m3fnuz, float8_e5m2 as float8_e5m2,
    float8_e5m2fnuz as float8_e5m2fnuz, float8_e8m0fnu as float8_e8m0fnu, float_ as float_,
    int1 as int1, int2 as int2, int4 as int4, int_ as int_, object_ as object_,
    single as single, uint as uint, uint1 as uint1, uint2 as uint2, uint4 as uint4,
    bfloat16 as bfloat16, bool_ as bool_, can_cast as can_cast, complex64 as complex64,
    complex128 as complex128, complexfloating as complexfloating, dtype as dtype, e as e,
    euler_gamma as euler_gamma, finfo as finfo, float16 as float16, float32 as float32,
    float64 as float64, floating as floating, generic as generic, iinfo as iinfo,
    inexact as inexact, inf as inf, int8 as int8, int16 as int16, int32 as int32,
    int64 as int64, integer as integer,
    issubdtype as issubdtype, nan as nan, newaxis as newaxis, number as number, pi as pi,
    promote_types as promote_types, result_type as result_type,
    signedinteger as signedinteger, uint8 as uint8, uint16 as uint16, uint32 as uint32,
    uint64 as uint64, unsignedinteger as unsignedinteger,
)
from xform.numpy._array_api import (
    acos as acos, acosh as acosh, asin as asin, asinh as asinh, astype as astype, atan as atan,
    atan2 as atan2, atanh as atanh, bitwise_invert as bitwise_invert,
    bitwise_left_shift as bitwise_left_shift, bitwise_right_shift as bitwise_right_shift,
    concat as concat, isdtype as isdtype, permute_dims as permute_dims, pow as pow,
)
from xform.numpy._predicates import (
    allclose as allclose, array_equal as array_equal, array_equiv as array_equiv,
    isclose as isclose, iscomplex as iscomplex, iscomplexobj as iscomplexobj, isfinite as isfinite,
    isinf as isinf, isnan as isnan, isneginf as isneginf, isposinf as isposinf, isreal as isreal,
    isrealobj as isrealobj, isscalar as isscalar, iterable as iterable, signbit as signbit,
)
from xform.numpy._float_functions import (
    angle as angle, copysign as copysign, deg2rad as deg2rad, degrees as degrees, divmod as divmod,
    fabs as fabs, float_power as float_power, fmax as fmax, fmin as fmin, fmod as fmod,
    frexp as frexp, heaviside as heaviside, hypot as hypot, i0 as i0, ldexp as ldexp, modf as modf,
    nan_to_num as nan_to_num, nextafter as nextafter, rad2deg as rad2deg, radians as radians,
    reciprocal as reciprocal, rint as rint, sinc as sinc, spacing as spacing, trunc as trunc,
)
from xform.numpy._integer_functions import (
    bitwise_count as bitwise_count, gcd as gcd, lcm as lcm, packbits as packbits,
    unpackbits as unpackbits,
)
from xform.numpy._index_tricks import (
    c_ as c_, index_exp as index_exp, ix_ as ix_, mask_indices as mask_indices, mgrid as mgrid,
    ogrid as ogrid, r_ as r_, ravel_multi_index as ravel_multi_index, s_ as s_,
    unravel_index as unravel_index,
)
from xform.numpy._edits import (
    choose as choose, delete as delete, insert as insert, place as place, put as put,
)
from xform.numpy._polynomials import (
    poly as poly, polyadd as polyadd, polyder as polyder, polydiv as polydiv,
    polyfit as polyfit, polyint as polyint, polymul as polymul, polysub as polysub,
    polyval as polyval, roots as roots, trim_zeros as trim_zeros, vander as vander,
)
from xform.numpy._ufunc_class import (  # jax.numpy's ufunc objects (they replace the functions)
    add as add, bitwise_and as bitwise_and, bitwise_or as bitwise_or, bitwise_xor as bitwise_xor,
    frompyfunc as frompyfunc, logaddexp as logaddexp, logaddexp2 as logaddexp2,
    logical_and as logical_and, logical_or as logical_or, logical_xor as logical_xor,
    maximum as maximum, minimum as minimum, multiply as multiply, negative as negative,
    subtract as subtract, ufunc as ufunc,
)
from xform.numpy._calculus import (
    gradient as gradient, interp as interp, trapezoid as trapezoid, unwrap as unwrap,
)
from xform.numpy._signal import (
    bartlett as bartlett, blackman as blackman, convolve as convolve, correlate as correlate,
    hamming as hamming, hanning as hanning, kaiser as kaiser,
)
from xform.numpy._functional import (
    apply_along_axis as apply_along_axis, apply_over_axes as apply_over_axes,
    fromfunction as fromfunction, piecewise as piecewise, vectorize as vectorize,
)
from xform.numpy._io import (
    array_repr as array_repr, array_str as array_str, from_dlpack as from_dlpack,
    frombuffer as frombuffer, fromfile as fromfile, fromiter as fromiter, fromstring as fromstring,
    get_printoptions as get_printoptions, load as load, printoptions as printoptions, save as save,
    savez as savez, set_printoptions as set_printoptions,
)
from xform.numpy._indexing import (
    NonConcreteBooleanIndexError as NonConcreteBooleanIndexError, take as take,
    take_along_axis as take_along_axis,
)
from xform.numpy._linalg_ops import (
    dot as dot, einsum as einsum, einsum_path as einsum_path, inner as inner, matmul as matmul,
    matvec as matvec, outer as outer, tensordot as tensordot, vdot as vdot, vecdot as vecdot,
    vecmat as vecmat,
)
from xform.numpy._reductions import (
    all as all, amax as amax, amin as amin, any as any, argmax as argmax, argmin as argmin,
    cumprod as cumprod, cumsum as cumsum, max as max, mean as mean, min as min, prod as prod,
    std as std, sum as sum, var as var,
)
from xform.numpy._shape import (
    broadcast_arrays as broadcast_arrays, broadcast_to as broadcast_to,
    concatenate as concatenate, expand_dims as expand_dims, matrix_transpose as matrix_transpose,
    moveaxis as moveaxis, ndim as ndim, ravel as ravel, reshape as reshape, shape as shape,
    size as size, squeeze as squeeze, stack as stack, swapaxes as swapaxes,
    transpose as transpose,
)
from xform.numpy._ufuncs import (
    abs as abs, absolute as absolute, arccos as arccos, arccosh as arccosh, arcsin as arcsin,
    arcsinh as arcsinh, arctan as arctan, arctan2 as arctan2, arctanh as arctanh, around as around,
    bitwise_not as bitwise_not, cbrt as cbrt, ceil as ceil, clip as clip, conj as conj,
    conjugate as conjugate, cos as cos, cosh as cosh, divide as divide, equal as equal, exp as exp,
    exp2 as exp2, expm1 as expm1, floor as floor, floor_divide as floor_divide, greater as greater,
    greater_equal as greater_equal, imag as imag, invert as invert, left_shift as left_shift,
    less as less, less_equal as less_equal, log as log, log1p as log1p, log2 as log2,
    log10 as log10, logical_not as logical_not, mod as mod, not_equal as not_equal,
    positive as positive, power as power, real as real, remainder as remainder,
    right_shift as right_shift, round as round, sign as sign, sin as sin, sinh as sinh,
    sqrt as sqrt, square as square, tan as tan, tanh as tanh, true_divide as true_divide,
    where as where,
)
from xform.numpy._matrices import (
    cross as cross, diag as diag, diag_indices as diag_indices,
    diag_indices_from as diag_indices_from, diagflat as diagflat, diagonal as diagonal,
    fill_diagonal as fill_diagonal, geomspace as geomspace, indices as indices, kron as kron,
    logspace as logspace, meshgrid as meshgrid, trace as trace, tri as tri, tril as tril,
    tril_indices as tril_indices, tril_indices_from as tril_indices_from, triu as triu,
    triu_indices as triu_indices, triu_indices_from as triu_indices_from,
)
from xform.numpy._manip import (
    append as append, array_split as array_split, atleast_1d as atleast_1d,
    atleast_2d as atleast_2d, atleast_3d as atleast_3d, block as block,
    broadcast_shapes as broadcast_shapes, column_stack as column_stack, diff as diff,
    dsplit as dsplit, dstack as dstack, ediff1d as ediff1d, flip as flip, fliplr as fliplr,
    flipud as flipud, hsplit as hsplit, hstack as hstack, pad as pad, repeat as repeat,
    resize as resize, roll as roll, rollaxis as rollaxis, rot90 as rot90, split as split,
    tile as tile, unstack as unstack, vsplit as vsplit, vstack as vstack,
)
from xform.numpy._sorting import (
    argpartition as argpartition, argsort as argsort, digitize as digitize, lexsort as lexsort,
    partition as partition, searchsorted as searchsorted, sort as sort,
    sort_complex as sort_complex,
)
from xform.numpy._setops import (
    argwhere as argwhere, bincount as bincount, compress as compress, extract as extract,
    flatnonzero as flatnonzero, intersect1d as intersect1d, isin as isin, nonzero as nonzero,
    put_along_axis as put_along_axis, select as select, setdiff1d as setdiff1d,
    setxor1d as setxor1d, union1d as union1d, unique as unique, unique_all as unique_all,
    unique_counts as unique_counts, unique_inverse as unique_inverse,
    unique_values as unique_values,
)
from xform.numpy._stats import (
    average as average, corrcoef as corrcoef, count_nonzero as count_nonzero, cov as cov,
    cumulative_prod as cumulative_prod, cumulative_sum as cumulative_sum, histogram as histogram,
    histogram2d as histogram2d, histogram_bin_edges as histogram_bin_edges,
    histogramdd as histogramdd, median as median, nanargmax as nanargmax,
    nanargmin as nanargmin, nancumprod as nancumprod, nancumsum as nancumsum, nanmax as nanmax,
    nanmean as nanmean, nanmedian as nanmedian, nanmin as nanmin, nanpercentile as nanpercentile,
    nanprod as nanprod, nanquantile as nanquantile, nanstd as nanstd, nansum as nansum,
    nanvar as nanvar, percentile as percentile, ptp as ptp, quantile as quantile,
)

class _ArrayMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, (_JaxArray, _Tracer))


class ndarray(metaclass=_ArrayMeta):
    """For ``isinstance(x, xnp.ndarray)``: true for jax.Arrays and xform tracers."""


_array_methods.install(_Tracer)
_array_methods.install_on_jax_arrays()
