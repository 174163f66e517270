"""``xform.example_libraries``: JAX's small example libraries (``optimizers``, ``stax``), as
JAX's documentation uses them, built on ``xform.numpy``."""
