"""The README's example and the docs' doctests run and print what they show."""

import doctest
import pathlib
import re

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_readme_example_runs_and_batches_like_a_person(capsys):
    text = (ROOT / "README.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", text, re.S)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    out = capsys.readouterr().out
    ops = re.findall(r"= ([a-z_]+)\[|= ([a-z_]+) ", out.split("let", 1)[1])
    assert [a or b for a, b in ops] == ["dot_general", "add", "tanh", "reduce_sum"]
    v_batch, W = np.asarray(scope["v_batch"]), np.asarray(scope["W"])
    want = np.tanh(v_batch @ W.T + 1.0).sum(axis=1)
    np.testing.assert_allclose(np.asarray(scope["per_example"]), want, rtol=1e-5)
    want_grads = (1 - np.tanh(v_batch @ W.T + 1.0) ** 2) @ W
    np.testing.assert_allclose(np.asarray(scope["grads"]), want_grads, rtol=1e-4, atol=1e-5)


def test_docs_index_doctest():
    result = doctest.testfile(str(ROOT / "docs" / "index.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, result
