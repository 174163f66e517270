"""docs/numpy.md is generated from jax.numpy and xform.numpy; it must be current."""

from __future__ import annotations

import jax.numpy as jnp

import xform.numpy as xnp
from xform.numpy import _coverage


def test_numpy_doc_is_current():
    current = _coverage.DOC_PATH.read_text(encoding="utf-8") if _coverage.DOC_PATH.exists() \
        else ""
    assert current == _coverage.render_markdown(), (
        "docs/numpy.md is stale: run `python -m xform.numpy._coverage` and commit the result.")


def test_rows_cover_every_public_jax_numpy_name():
    rows = _coverage.coverage_rows()
    names = [r.name for r in rows]
    assert names == sorted(n for n in vars(jnp) if not n.startswith("_"))
    for r in rows:
        assert r.present == hasattr(xnp, r.name)
        assert not r.note or r.present  # notes describe what xform has


def test_issue_list_is_covered():
    # the everyday functions the research API promises (see the project's issue list)
    promised = """where array asarray zeros ones empty full zeros_like ones_like full_like
        empty_like arange linspace logspace eye identity diag diagonal tri tril triu meshgrid
        sum mean prod max min amax amin argmax argmin std var median quantile percentile cumsum
        cumprod average any all count_nonzero ptp nansum nanmean nanmax nanmin reshape ravel
        transpose swapaxes moveaxis squeeze expand_dims broadcast_to broadcast_arrays atleast_1d
        atleast_2d atleast_3d concatenate stack hstack vstack dstack column_stack split
        array_split unstack tile repeat flip fliplr flipud roll rot90 pad take take_along_axis
        put_along_axis select piecewise clip searchsorted sort argsort lexsort partition
        argpartition unique nonzero argwhere bincount histogram digitize einsum dot vdot matmul
        inner outer tensordot kron cross trace logaddexp logaddexp2 hypot copysign fmod mod
        remainder floor_divide divmod heaviside sinc deg2rad isnan isinf isfinite isclose
        allclose array_equal signbit nan_to_num real imag conj angle abs astype can_cast
        result_type promote_types issubdtype finfo iinfo float16 bfloat16 float32 float64 int8
        int16 int32 int64 uint8 uint16 uint32 uint64 bool_ complex64 ndarray""".split()
    missing = [n for n in promised if not hasattr(xnp, n)]
    assert not missing, missing
