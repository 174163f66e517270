"""Benchmarks of xform against JAX and torch.func (DESIGN.md §6); run them with run_all."""
