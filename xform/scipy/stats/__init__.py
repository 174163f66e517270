"""xform.scipy.stats: jax.scipy.stats' distributions, each a namespace of SciPy's method names
(``norm.logpdf``, ``gamma.cdf``, ``poisson.logpmf``, ...), built from xform.numpy and
xform.scipy.special, so they work under every transform.

    >>> from xform.scipy.stats import norm
    >>> norm.logpdf(0.0)
    Array(-0.9189385, dtype=float32, weak_type=True)
"""

from xform.scipy.stats._continuous import (
    beta as beta, cauchy as cauchy, chi2 as chi2, expon as expon, gamma as gamma,
    laplace as laplace, logistic as logistic, norm as norm, t as t, truncnorm as truncnorm,
    uniform as uniform, vonmises as vonmises,
)
from xform.scipy.stats._discrete import (
    bernoulli as bernoulli, binom as binom, dirichlet as dirichlet, geom as geom,
    multivariate_normal as multivariate_normal, poisson as poisson,
)
from xform.scipy.stats._kde import gaussian_kde as gaussian_kde
from xform.scipy.stats._more import (
    betabinom as betabinom, gennorm as gennorm, gumbel_l as gumbel_l, gumbel_r as gumbel_r,
    mode as mode, multinomial as multinomial, nbinom as nbinom, pareto as pareto,
    rankdata as rankdata, sem as sem, wrapcauchy as wrapcauchy,
)
