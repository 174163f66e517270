"""``xform.debug``: ``print``, ``callback`` and ``breakpoint`` that work inside transforms.

All three are built on the ``debug_callback`` primitive (xform/lax/callback.py): eagerly the
Python function runs at once; under ``jit`` it runs when the compiled program runs; under
``vmap`` once per lane; under ``grad``/``jvp`` on the forward pass (primal values only); inside
``scan``/``cond``/``while_loop`` each time that code runs. ``ordered=True`` keeps program order
among ordered callbacks.

    >>> import xform
    >>> xform.jit(lambda x: xform.debug.print("x = {}", x))(1.5)
    x = 1.5
"""

from __future__ import annotations

import cmd
import copy
import inspect
import logging
import os
import pprint
import string
import sys
import traceback
from typing import IO, Any, Callable

import jax
import numpy as np

from xform.core.trace import Tracer
from xform._sharding_debug import (
    inspect_array_sharding as inspect_array_sharding,
    visualize_array_sharding as visualize_array_sharding,
    visualize_sharding as visualize_sharding,
)
from xform.lax.callback import FlatCallback, debug_callback_p, split_static

__all__ = ["print", "log", "callback", "breakpoint", "register_debugger"]


def _bind(fun: Callable, args: tuple, kwargs: dict, ordered: bool) -> None:
    leaves, in_tree = jax.tree_util.tree_flatten((args, kwargs))
    dyn, static = split_static(leaves)
    debug_callback_p.bind(*dyn, callback=FlatCallback(fun, in_tree, static, returns=False),
                          ordered=bool(ordered))


def callback(callback: Callable[..., None] | None = None, *args: Any, ordered: bool = False,
             partitioned: bool = False, **kwargs: Any) -> Any:
    """Call ``callback(*args, **kwargs)`` on concrete values, staged into transformed code,
    as ``jax.debug.callback``. Its result is ignored.

    Two forms, as JAX: ``callback(fn, *args, ordered=...)``, or
    ``callback(ordered=...)(fn, *args)``. ``partitioned`` is accepted (one device: no effect).
    """
    def staged(fn: Callable[..., None], *c_args: Any, **c_kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError("first argument to xform.debug.callback must be callable, but got "
                            f"an object of type {type(fn)}")
        _bind(fn, c_args, c_kwargs, ordered)

    if callback is not None:
        staged(callback, *args, **kwargs)
        return None
    if args or kwargs:
        raise TypeError("debug_callback received unexpected arguments in the two-call form: "
                        f"args={args} kwargs={kwargs}")
    return staged


class _FormatChecker(string.Formatter):
    """Checks a format string against its arguments without formatting anything."""

    def format_field(self, value, format_spec):
        return ""

    def check_unused_args(self, used_args, args, kwargs):
        unused = [a for i, a in enumerate(args) if i not in used_args]
        unused_kw = [k for k in kwargs if k not in used_args]
        if unused:
            raise ValueError(f"Unused positional arguments to `xform.debug.print`: {unused}")
        if unused_kw:
            raise ValueError(
                f"Unused keyword arguments to `xform.debug.print`: {unused_kw}. You may be "
                "passing an f-string (i.e, `f\"{x}\"`) into `xform.debug.print` and instead "
                "should pass in a regular string.")


class _PrintCallback:
    """Formats and writes one line; numpy's print options are those of the ``print`` call.
    With a log record (``log``), the line is that record's message, handled by its logger."""

    def __init__(self, fmt: str, printoptions: dict, has_placeholders: bool,
                 record: logging.LogRecord | None = None):
        self.fmt, self.printoptions, self.has_placeholders = fmt, printoptions, has_placeholders
        self.record = record

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        if self.has_placeholders:
            with np.printoptions(**self.printoptions):
                msg = self.fmt.format(*args, **kwargs)
        else:
            msg = " ".join((self.fmt, *(str(a) for a in args)))
        if self.record is not None:
            record = copy.copy(self.record)
            record.msg = msg
            logger.handle(record)
        else:
            sys.stdout.write(msg + "\n")


def print(fmt: str | None = None, *args: Any, ordered: bool = False,  # noqa: A001
          partitioned: bool = False, skip_format_check: bool = False, _use_logging: bool = False,
          **kwargs: Any) -> Any:
    """Print ``fmt.format(*args, **kwargs)`` with the concrete values, also inside transforms,
    as ``jax.debug.print``.

    Write ``print("x = {x}", x=x)``, not an f-string (the values are not known while tracing).
    Under ``vmap`` there is one line per lane; under ``grad`` the forward pass prints.
    Two forms, as JAX: ``print(fmt, *args, ordered=...)`` or ``print(ordered=...)(fmt, *args)``.
    """
    def staged(fmt: str, *c_args: Any, **c_kwargs: Any) -> None:
        if not skip_format_check:
            _FormatChecker().format(fmt, *c_args, **c_kwargs)
        has_placeholders = False
        if fmt:
            _, field, *_ = next(iter(string.Formatter().parse(fmt)))
            has_placeholders = field is not None
        record = _log_record(logging.INFO) if _use_logging else None
        fn = _PrintCallback(fmt, np.get_printoptions(), has_placeholders, record)
        _bind(fn, c_args, c_kwargs, ordered)

    if fmt is not None:
        staged(fmt, *args, **kwargs)
        return None
    if args or kwargs:
        raise TypeError("debug_print received unexpected arguments in the two-call form: "
                        f"args={args} kwargs={kwargs}")
    return staged


logger = logging.getLogger("xform.debug")


def _log_record(level: int) -> logging.LogRecord:
    """A record for ``logger`` naming the user's file and line where ``log`` was called (the
    message is filled in when the values are known)."""
    frame = next((f for f in inspect.stack(0)[1:] if _user_frame(f)), None)
    file_name, line_no = (frame.filename, frame.lineno) if frame else ("(unknown file)", 0)
    return logger.makeRecord(logger.name, level, file_name, line_no, "", (), None)


def log(fmt: str | None = None, *args: Any, ordered: bool = False, partitioned: bool = False,
        skip_format_check: bool = False, **kwargs: Any) -> Any:
    """``print``, but the line goes to the ``logging`` module (logger ``"xform.debug"``, level
    INFO, with the caller's file and line), as ``jax.debug.log``: shown where logging is
    configured to show INFO records.

    >>> import logging, xform
    >>> logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    >>> xform.jit(lambda x: xform.debug.log("x = {}", x))(1.5)  # logs "x = 1.5"
    """
    return print(fmt, *args, ordered=ordered, partitioned=partitioned,
                 skip_format_check=skip_format_check, _use_logging=True, **kwargs)


# -- breakpoint ---------------------------------------------------------------------------------
class DebuggerFrame:
    """One stack frame as the debugger shows it: where, its source, and its variables (traced
    values replaced by their concrete values when the breakpoint runs)."""

    def __init__(self, filename: str, lineno: int, source: list[str], offset: int | None,
                 locals_: dict, globals_: dict):
        self.filename, self.lineno, self.source, self.offset = filename, lineno, source, offset
        self.locals, self.globals = locals_, globals_

    @classmethod
    def capture(cls, info: inspect.FrameInfo) -> DebuggerFrame:
        try:
            lines, start = inspect.getsourcelines(info.frame)
            source = [line.rstrip("\n") for line in lines]
            offset = info.lineno - max(start, 1)
        except (OSError, TypeError):
            source, offset = [], None
        return cls(info.filename, info.lineno, source, offset, dict(info.frame.f_locals),
                   info.frame.f_globals)


_XFORM_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame(info: inspect.FrameInfo) -> bool:
    return not os.path.abspath(info.filename).startswith(_XFORM_DIR + os.sep) \
        and "/jax/" not in info.filename.replace(os.sep, "/")


class CliDebugger(cmd.Cmd):
    """A small text debugger over captured frames: ``p``/``pp`` expr, an expression,
    ``u(p)``/``d(own)``, ``l(ist)``, ``w(here)``/``bt``, ``c(ontinue)``, ``q(uit)``."""

    prompt = "(jdb) "  # JAX's debugger prompt, so sessions read the same

    def __init__(self, frames: list[DebuggerFrame], stdin: IO[str] | None = None,
                 stdout: IO[str] | None = None):
        super().__init__(stdin=stdin, stdout=stdout)
        self.use_rawinput = stdin is None
        self.frames = frames
        self.index = 0
        self.intro = "Entering jdb:"

    def _eval(self, expr: str) -> Any:
        frame = self.frames[self.index]
        return eval(expr, dict(frame.globals), dict(frame.locals))

    def _show(self, expr: str, fmt: Callable[[Any], str]) -> None:
        try:
            self.stdout.write(fmt(self._eval(expr)) + "\n")
        except Exception:  # noqa: BLE001 - a debugger reports every error and goes on
            msg = traceback.format_exception_only(*sys.exc_info()[:2])[-1].strip()
            self.stdout.write(f"*** {msg}\n")

    def default(self, line: str) -> None:
        self._show(line, repr)

    def do_p(self, arg: str) -> None:
        """p expression: print its repr."""
        self._show(arg, repr)

    def do_pp(self, arg: str) -> None:
        """pp expression: pretty-print it."""
        self._show(arg, pprint.pformat)

    def context(self, lines: int = 2) -> None:
        frame = self.frames[self.index]
        out = [f"> {frame.filename}({frame.lineno})"]
        if frame.offset is not None:
            for i, line in enumerate(frame.source):
                if frame.offset - 1 - lines <= i <= frame.offset + lines:
                    out.append(("->  " if i == frame.offset else "    ") + line)
        self.stdout.write("\n".join(out) + "\n")

    def do_up(self, arg: str) -> None:
        """u(p): the caller's frame."""
        if self.index == len(self.frames) - 1:
            self.stdout.write("At topmost frame.\n")
        else:
            self.index += 1
        self.context()

    def do_down(self, arg: str) -> None:
        """d(own): back towards the breakpoint's frame."""
        if self.index == 0:
            self.stdout.write("At bottommost frame.\n")
        else:
            self.index -= 1
        self.context()

    def do_list(self, arg: str) -> None:
        """l(ist): the source around the current line."""
        self.context(5)

    def do_where(self, arg: str) -> None:
        """w(here): the stack, most recent frame last."""
        out = ["Traceback:"]
        for frame in self.frames[::-1]:
            out.append(f'  File "{frame.filename}", line {frame.lineno}')
            out.append("    " + (frame.source[frame.offset].strip() if frame.offset is not None
                                 else "<no source>"))
        self.stdout.write("\n".join(out) + "\n")

    def do_continue(self, arg: str) -> bool:
        """c(ontinue): leave the debugger; the program goes on."""
        return True

    def do_quit(self, arg: str) -> None:
        """q(uit): exit the program."""
        sys.exit(0)

    do_u, do_d, do_l, do_w, do_bt = do_up, do_down, do_list, do_where, do_where
    do_c = do_cont = do_continue
    do_q = do_exit = do_EOF = do_quit

    def run(self) -> None:
        while True:
            try:
                self.cmdloop()
                break
            except KeyboardInterrupt:
                self.stdout.write("--KeyboardInterrupt--\n")


def _holds_tracer(value: Any) -> bool:
    if isinstance(value, Tracer):
        return True
    if not isinstance(value, (list, tuple, dict)):  # iterators and other objects stay as-is
        return False
    return any(isinstance(v, Tracer) for v in jax.tree_util.tree_leaves(
        value, is_leaf=lambda v: not isinstance(v, (list, tuple, dict))))


def _cli_debugger(frames: list[DebuggerFrame], thread_id: Any = None, **kwargs: Any) -> None:
    CliDebugger(frames, **kwargs).run()


_debuggers: dict[str, tuple[int, Callable[..., None]]] = {"cli": (-1, _cli_debugger)}


def register_debugger(name: str, debugger: Callable[..., None], priority: int) -> None:
    """Add a debugger backend ``debugger(frames, thread_id, **kwargs)``; ``breakpoint`` uses
    the named one, or the highest priority one when ``backend`` is None."""
    _debuggers[name] = (priority, debugger)


def breakpoint(*, backend: str | None = None, filter_frames: bool = True,  # noqa: A001
               num_frames: int | None = None, ordered: bool = False, token: Any = None,
               **kwargs: Any) -> Any:
    """Stop at this point of the program and open a debugger on the caller's frames, with the
    concrete values of traced variables, as ``jax.debug.breakpoint``.

    Arguments:
        backend: a debugger registered with :func:`register_debugger` (``"cli"``, the default,
            reads commands from ``stdin``).
        filter_frames: hide xform's and JAX's own frames.
        num_frames: how many frames (from the caller up) to make available.
        ordered: keep program order among ordered callbacks.
        token: a pytree returned unchanged (JAX's alternative to ``ordered``).
        **kwargs: passed to the debugger (the CLI takes ``stdin=`` and ``stdout=`` streams,
            which is how it is used non-interactively).
    """
    if token is not None and ordered:
        raise ValueError("`ordered` and `token` are mutually exclusive arguments.")
    infos = inspect.stack()[1:]
    if filter_frames:
        infos = [i for i in infos if _user_frame(i)]
    if num_frames is not None:
        infos = infos[:num_frames]
    frames = [DebuggerFrame.capture(i) for i in infos]
    del infos
    # only variables holding traced values travel through the callback (to be replaced by
    # their values); the rest are shown as they were captured
    names = [sorted(n for n, v in f.locals.items() if _holds_tracer(v)) for f in frames]
    values = [[f.locals[n] for n in ns] for f, ns in zip(frames, names)]
    if backend is not None and backend not in _debuggers:
        raise ValueError(f"Debugger backend {backend!r} is not registered; the registered "
                         f"ones are {sorted(_debuggers)}.")

    def run_debugger(values: list) -> None:
        shown = [DebuggerFrame(f.filename, f.lineno, f.source, f.offset,
                               {**f.locals, **dict(zip(ns, vs))}, f.globals)
                 for f, ns, vs in zip(frames, names, values)]
        name = backend or max(_debuggers, key=lambda k: _debuggers[k][0])
        _debuggers[name][1](shown, None, **kwargs)

    callback(run_debugger, values, ordered=ordered)
    return token
