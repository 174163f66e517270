"""xform.nn: neural-network functions (activations, softmax, ...) with jax.nn's names."""

from xform.nn.functions import (
    celu as celu, elu as elu, gelu as gelu, glu as glu, hard_sigmoid as hard_sigmoid,
    leaky_relu as leaky_relu, log_sigmoid as log_sigmoid, log_softmax as log_softmax,
    logsumexp as logsumexp, one_hot as one_hot, relu as relu, relu6 as relu6, selu as selu,
    sigmoid as sigmoid, silu as silu, softmax as softmax, softplus as softplus,
    standardize as standardize, swish as swish, tanh as tanh,
)
from xform.nn._module import (
    Module as Module, combine as combine, is_array as is_array, partition as partition,
    stack as stack, static_field as static_field, unstack as unstack,
)
from xform.nn.layers import (
    MLP as MLP, AvgPool2d as AvgPool2d, Conv2d as Conv2d, Dropout as Dropout,
    Embedding as Embedding, Identity as Identity, Lambda as Lambda, LayerNorm as LayerNorm,
    Linear as Linear, MaxPool2d as MaxPool2d, Sequential as Sequential,
)
from xform.nn import losses as losses
from xform.nn import initializers as initializers
from xform.nn.activations import (
    hard_silu as hard_silu, hard_swish as hard_swish, hard_tanh as hard_tanh,
    identity as identity, log1mexp as log1mexp, logmeanexp as logmeanexp, mish as mish,
    soft_sign as soft_sign, sparse_plus as sparse_plus, sparse_sigmoid as sparse_sigmoid,
    squareplus as squareplus,
)
from xform.nn.attention import dot_product_attention as dot_product_attention
