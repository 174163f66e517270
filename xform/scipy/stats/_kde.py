"""``gaussian_kde``: a Gaussian kernel density estimate, as ``jax.scipy.stats.gaussian_kde``.

It is a pytree (its arrays are the leaves), so a fitted estimate passes through ``jit`` and
``vmap`` and its parameters can be differentiated. The kernel sums are written as broadcasts
over (evaluation point, data point) pairs, which is what a vmap over both would emit.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

import xform.numpy as xnp
from xform import random
from xform.core.avals import is_complex
from xform.scipy import linalg
from xform.scipy.special import logsumexp, ndtr
from xform.scipy.special import _inexact

__all__ = ["gaussian_kde"]

_FIELDS = ("neff", "dataset", "weights", "covariance", "inv_cov")


@jax.tree_util.register_pytree_node_class
class gaussian_kde:
    """A Gaussian kernel density estimate of ``dataset`` (shape ``(d, n)``, or ``(n,)`` for one
    dimension), with bandwidth ``bw_method`` ("scott", "silverman", a scalar factor or a
    callable of the estimate) and optional ``weights`` of the ``n`` points."""

    __slots__ = _FIELDS

    def __init__(self, dataset: Any, bw_method: Any = None, weights: Any = None):
        dataset = xnp.atleast_2d(dataset)
        if is_complex(dataset.dtype):
            raise NotImplementedError("gaussian_kde does not support complex data")
        if not dataset.size > 1:
            raise ValueError("`dataset` input should have multiple elements.")
        d, n = dataset.shape
        if weights is not None:
            dataset, weights = _inexact(dataset, weights)
            weights = xnp.atleast_1d(weights)
            weights = weights / xnp.sum(weights)
            if weights.ndim != 1:
                raise ValueError("`weights` input should be one-dimensional.")
            if len(weights) != n:
                raise ValueError("`weights` input should be of length n")
        else:
            (dataset,) = _inexact(dataset)
            weights = xnp.full(n, 1.0 / n, dtype=dataset.dtype)
        self._set("dataset", dataset)
        self._set("weights", weights)
        neff = self._set("neff", 1 / xnp.sum(weights ** 2))
        bw_method = "scott" if bw_method is None else bw_method
        if isinstance(bw_method, str) and bw_method == "scott":
            factor = xnp.power(neff, -1.0 / (d + 4))
        elif isinstance(bw_method, str) and bw_method == "silverman":
            factor = xnp.power(neff * (d + 2) / 4.0, -1.0 / (d + 4))
        elif xnp.isscalar(bw_method) and not isinstance(bw_method, str):
            factor = bw_method
        elif callable(bw_method):
            factor = bw_method(self)
        else:
            raise ValueError("`bw_method` should be 'scott', 'silverman', a scalar, or a "
                             "callable.")
        data_cov = xnp.atleast_2d(xnp.cov(dataset, rowvar=True, bias=False, aweights=weights))
        self._set("covariance", data_cov * factor ** 2)
        self._set("inv_cov", xnp.linalg.inv(data_cov) / factor ** 2)

    def _set(self, name: str, value: Any) -> Any:
        object.__setattr__(self, name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: gaussian_kde is frozen")

    def tree_flatten(self):
        return tuple(getattr(self, f) for f in _FIELDS), None

    @classmethod
    def tree_unflatten(cls, aux_data: Any, children: Any) -> "gaussian_kde":
        kde = cls.__new__(cls)
        for f, v in zip(_FIELDS, children):
            kde._set(f, v)
        return kde

    @property
    def d(self) -> int:
        return self.dataset.shape[0]

    @property
    def n(self) -> int:
        return self.dataset.shape[1]

    def evaluate(self, points: Any) -> Any:
        """The estimated density at ``points`` (shape ``(d, m)``)."""
        points = self._reshape_points(points)
        return _kernel_sum(False, self.dataset.T, self.weights, points.T, self.inv_cov)

    def __call__(self, points: Any) -> Any:
        return self.evaluate(points)

    def pdf(self, x: Any) -> Any:
        """The estimated density at ``x`` (as ``evaluate``)."""
        return self.evaluate(x)

    def logpdf(self, x: Any) -> Any:
        """The log of the estimated density at ``x``, summed in log space."""
        x = self._reshape_points(x)
        return _kernel_sum(True, self.dataset.T, self.weights, x.T, self.inv_cov)

    def integrate_gaussian(self, mean: Any, cov: Any) -> Any:
        """The integral of the density times the Gaussian N(``mean``, ``cov``)."""
        mean = xnp.atleast_1d(xnp.squeeze(mean))
        cov = xnp.atleast_2d(cov)
        if mean.shape != (self.d,):
            raise ValueError(f"mean does not have dimension {self.d}")
        if cov.shape != (self.d, self.d):
            raise ValueError(f"covariance does not have dimension {self.d}")
        chol = linalg.cho_factor(self.covariance + cov)
        norm = 1.0 / (xnp.sqrt(2 * np.pi) ** self.d * xnp.prod(xnp.diag(chol[0])))
        return _gaussian_convolve(chol, norm, self.dataset, self.weights, mean[:, None])[0]

    def integrate_box_1d(self, low: Any, high: Any) -> Any:
        """The probability mass between the scalars ``low`` and ``high`` (one dimension)."""
        if self.d != 1:
            raise ValueError("integrate_box_1d() only handles 1D pdfs")
        if np.ndim(low) != 0 or np.ndim(high) != 0:
            raise ValueError("the limits of integration in integrate_box_1d must be scalars")
        sigma = xnp.squeeze(xnp.sqrt(self.covariance))
        low = xnp.squeeze((low - self.dataset) / sigma)
        high = xnp.squeeze((high - self.dataset) / sigma)
        return xnp.sum(self.weights * (ndtr(high) - ndtr(low)))

    def integrate_kde(self, other: "gaussian_kde") -> Any:
        """The integral of the product of this density and ``other``'s."""
        if other.d != self.d:
            raise ValueError("KDEs are not the same dimensionality")
        chol = linalg.cho_factor(self.covariance + other.covariance)
        norm = 1.0 / (xnp.sqrt(2 * np.pi) ** self.d * xnp.prod(xnp.diag(chol[0])))
        small, large = (self, other) if self.n < other.n else (other, self)
        per_point = _gaussian_convolve(chol, norm, large.dataset, large.weights, small.dataset)
        return xnp.sum(per_point * small.weights)

    def resample(self, key: Any, shape: tuple = ()) -> Any:
        """Draws from the estimate: shape ``(d, *shape)``, the same draws as JAX's for ``key``."""
        ind_key, eps_key = random.split(key)
        ind = random.choice(ind_key, self.n, shape=shape, p=self.weights)
        eps = random.multivariate_normal(eps_key, xnp.zeros(self.d, self.covariance.dtype),
                                         self.covariance, shape=shape,
                                         dtype=self.dataset.dtype).T
        return self.dataset[:, ind] + eps

    def integrate_box(self, low_bounds: Any, high_bounds: Any, maxpts: Any = None) -> Any:
        """Not implemented (as in JAX)."""
        raise NotImplementedError("integrate_box() is not implemented")

    def set_bandwidth(self, bw_method: Any = None) -> None:
        """Not supported: the estimate is immutable (as in JAX)."""
        raise NotImplementedError("dynamically changing the bandwidth method is not supported")

    def _reshape_points(self, points: Any) -> Any:
        points = xnp.asarray(points)
        if is_complex(points.dtype):
            raise NotImplementedError("gaussian_kde does not support complex coordinates")
        points = xnp.atleast_2d(points)
        d, m = points.shape
        if d != self.d:
            if d == 1 and m == self.d:
                return xnp.reshape(points, (self.d, 1))
            raise ValueError(f"points have dimension {d}, dataset has dimension {self.d}")
        return points


def _gaussian_convolve(chol: Any, norm: Any, target: Any, weights: Any, means: Any) -> Any:
    """For each column ``mu`` of ``means`` (d, k): ``norm * sum_i w_i exp(-(t_i - mu)^T C^-1
    (t_i - mu) / 2)`` over the columns ``t_i`` of ``target``."""
    diff = target[:, :, None] - means[:, None, :]             # (d, n, k)
    d, n, k = diff.shape
    flat = xnp.reshape(diff, (d, n * k))
    alpha = linalg.cho_solve(chol, flat)
    arg = 0.5 * xnp.reshape(xnp.sum(flat * alpha, axis=0), (n, k))
    return norm * xnp.sum(xnp.exp(-arg) * weights[:, None], axis=0)


def _kernel_sum(in_log: bool, points: Any, weights: Any, xi: Any, precision: Any) -> Any:
    """The weighted Gaussian kernel sum at each row of ``xi`` over the rows of ``points``,
    after whitening both with the Cholesky factor of ``precision``."""
    points, weights, xi, precision = _inexact(points, weights, xi, precision)
    d = points.shape[1]
    if xi.shape[1] != d:
        raise ValueError("points and xi must have same trailing dim")
    if precision.shape != (d, d):
        raise ValueError("precision matrix must match data dims")
    whitening = linalg.cholesky(precision, lower=True)
    points = xnp.dot(points, whitening)
    xi = xnp.dot(xi, whitening)
    log_norm = xnp.sum(xnp.log(xnp.diag(whitening))) - 0.5 * d * np.log(2 * np.pi)
    sq = xnp.sum(xnp.square(points[None, :, :] - xi[:, None, :]), axis=-1)   # (m, n)
    arg = log_norm - 0.5 * sq
    if in_log:
        return logsumexp(xnp.log(weights)[None, :] + arg, axis=1)
    return xnp.sum(weights[None, :] * xnp.exp(arg), axis=1)

