"""Probability distributions with PyTorch's ``torch.distributions`` API: sampling (through
ember's seeded generator), log-densities, moments, entropies, KL divergences, and gradients of
all of them in the parameters (``rsample`` where the distribution is reparameterizable).

>>> import ember.distributions as D
>>> mu = ember.tensor(0.0, requires_grad=True)
>>> D.Normal(mu, 1.0).log_prob(ember.tensor(1.0)).backward(); mu.grad
tensor(1.)
"""
from . import constraints
from .constraint_registry import biject_to, transform_to
from .continuous import Exponential, Laplace, MultivariateNormal, Normal, Uniform
from .discrete import Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson
from .distribution import Distribution
from .event_transforms import (CumulativeDistributionTransform, IndependentTransform,
                               LowerCholeskyTransform, PositiveDefiniteTransform,
                               SoftmaxTransform, StickBreakingTransform)
from .gamma import Beta, Chi2, Dirichlet, Gamma, StudentT
from .kl import kl_divergence, register_kl
from .lowrank import LowRankMultivariateNormal
from .transforms import (AbsTransform, AffineTransform, ComposeTransform, ExpTransform,
                         Independent, LogNormal, PowerTransform, SigmoidTransform,
                         SoftplusTransform, TanhTransform, Transform, TransformedDistribution,
                         identity_transform)

__all__ = ['Distribution', 'Normal', 'Uniform', 'Exponential', 'Laplace', 'MultivariateNormal',
           'LowRankMultivariateNormal', 'Bernoulli', 'Categorical', 'OneHotCategorical',
           'Poisson', 'Binomial', 'Independent', 'TransformedDistribution', 'LogNormal',
           'Transform', 'ExpTransform', 'AffineTransform', 'SigmoidTransform', 'TanhTransform',
           'ComposeTransform', 'PowerTransform', 'SoftplusTransform', 'AbsTransform',
           'SoftmaxTransform', 'StickBreakingTransform', 'LowerCholeskyTransform',
           'PositiveDefiniteTransform', 'IndependentTransform', 'CumulativeDistributionTransform',
           'biject_to', 'transform_to', 'identity_transform', 'kl_divergence', 'register_kl',
           'Gamma', 'Chi2', 'Beta', 'Dirichlet', 'StudentT']
