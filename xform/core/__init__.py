"""xform's core: avals, the IR, primitives, traces."""

from xform.core.avals import ShapedArray as ShapedArray, get_aval as get_aval
from xform.core.errors import (
    ConcretizationTypeError as ConcretizationTypeError,
    UnexpectedTracerError as UnexpectedTracerError,
)
from xform.core.ir import (
    ClosedJaxpr as ClosedJaxpr, Eqn as Eqn, Jaxpr as Jaxpr, Literal as Literal, Var as Var,
)
from xform.core.primitive import Primitive as Primitive, abstract_eval as abstract_eval
from xform.core.trace import Trace as Trace, Tracer as Tracer
from xform.core.typecheck import JaxprTypeError as JaxprTypeError, check_jaxpr as check_jaxpr
