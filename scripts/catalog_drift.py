#!/usr/bin/env python3
"""Compare the metric catalog with the metrics a vLLM release defines.

Usage: catalog_drift.py [--source DIR] [--cache DIR] VERSION

The vLLM wheel of VERSION is downloaded from PyPI (or DIR, an unpacked tree
holding a `vllm/` package, is read instead) and every Prometheus metric its
Python source defines is read by parsing the source with `ast`; nothing of
vLLM is imported or run. The definitions are compared with the catalog as
`vllm-grafana catalog` prints it, for VERSION.

Exit status: 0 when the catalog and the source agree, 1 when they drift apart,
2 on a usage, download or build error.

What is read from the source:

* constructor calls of prometheus_client's classes (`Gauge`, `Counter`,
  `Histogram`, `Summary`, also as `prometheus_client.Gauge`) and of the class
  attributes vLLM creates metrics through (`self._gauge_cls`,
  `self.counter_cls`, ...): the name (`name=` or the first argument), HELP
  (`documentation=` or the second), `labelnames` (or the third) and `buckets`;
* metric metadata objects (`...CounterMetadata(...)`, `...GaugeMetadata`,
  `...HistogramMetadata`) stored under a metric name in a dict, which a KV
  connector turns into metrics with the per-engine labels first.

Names, HELP texts, label lists and buckets are evaluated where the source
allows it: literals, module and class constants (across imports), f-strings,
concatenation, comprehensions and loops over literal lists, and calls of the
source's own small functions (`build_1_2_5_buckets`, `histogram_buckets`,
...) on constant arguments. Arguments only known at run time stay symbolic:
a parameter named `labelnames` stands for the per-engine labels (`engine`,
`model_name`) that the stat logger passes, and `build_1_2_5_buckets` of a
run-time value is the 1-2-5 series up to that value. Anything else is
reported as unresolved and not compared.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = ROOT / "target" / "catalog-drift"

# prometheus_client's default histogram buckets (finite bounds).
PROMETHEUS_DEFAULT_BUCKETS = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
]
# What the stat logger passes as `labelnames` to the metric classes it owns.
PER_ENGINE_LABELS = ["model_name", "engine"]
PER_ENGINE_PARAM = "labelnames"

METRIC_CLASSES = {
    "Counter": "counter",
    "Gauge": "gauge",
    "Histogram": "histogram",
    "Summary": "summary",
}
CLS_ATTR = re.compile(r"^_?(counter|gauge|histogram|summary)_cls$")
METADATA_CLASS = re.compile(r"(Counter|Gauge|Histogram|Summary)Metadata$")

# The wheel downloaded: its Python files are the same on every platform.
WHEEL_PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
                   "manylinux1_x86_64"]
WHEEL_PYTHON = "3.12"

# Bounds on the evaluator, so that no source can keep it busy for long.
MAX_ALTERNATIVES = 64
MAX_STEPS = 200_000
MAX_DEPTH = 40


class UsageError(Exception):
    """Bad arguments or environment: exit status 2."""


class Unresolved(Exception):
    """The source does not tell this value without running."""


# --- values the evaluator computes ------------------------------------------


@dataclass(frozen=True)
class Sym:
    """A value only known at run time (a parameter, a config field)."""

    name: str


@dataclass(frozen=True)
class Series125:
    """vLLM's `build_1_2_5_buckets(x)` of a run-time `x`."""

    up_to: str


@dataclass
class ModuleRef:
    name: str


@dataclass
class ClassRef:
    module: "Module"
    node: ast.ClassDef


@dataclass
class FuncRef:
    module: "Module"
    node: ast.FunctionDef | ast.AsyncFunctionDef
    cls: ast.ClassDef | None = None


@dataclass
class Obj:
    """An instance of a source class built with keyword arguments (a
    dataclass such as the offloading metric metadata)."""

    cls: ClassRef
    fields: dict


# --- the source tree ----------------------------------------------------------


@dataclass
class Module:
    name: str
    path: Path
    rel: str
    tree: ast.Module
    globals_: dict = field(default_factory=dict)  # name -> [ast.expr]
    imports: dict = field(default_factory=dict)  # alias -> (module, name|None)
    classes: dict = field(default_factory=dict)
    functions: dict = field(default_factory=dict)


class Tree:
    """The `vllm` package of one release, parsed on demand."""

    def __init__(self, root: Path):
        self.root = root
        self.modules: dict[str, Module | None] = {}
        self.unparsable: list[str] = []

    def files(self) -> list[Path]:
        return sorted((self.root / "vllm").rglob("*.py"))

    def module_name(self, path: Path) -> str:
        rel = path.relative_to(self.root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    def load(self, name: str) -> Module | None:
        if name in self.modules:
            return self.modules[name]
        self.modules[name] = None
        base = self.root.joinpath(*name.split("."))
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                self.modules[name] = self.parse(name, path)
                break
        return self.modules[name]

    def parse(self, name: str, path: Path) -> Module | None:
        rel = path.relative_to(self.root).as_posix()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        except (SyntaxError, UnicodeDecodeError, ValueError) as e:
            self.unparsable.append(f"{rel}: {e}")
            return None
        module = Module(name, path, rel, tree)
        is_package = path.name == "__init__.py"
        for node in module_level(tree.body):
            if isinstance(node, ast.ClassDef):
                module.classes[node.name] = node
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                module.functions[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for n, expr in unpack_target(target, node.value):
                        module.globals_.setdefault(n, []).append(expr)
            elif isinstance(node, ast.ImportFrom):
                source = resolve_relative(name, is_package, node.module, node.level)
                for alias in node.names:
                    module.imports[alias.asname or alias.name] = (source, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        module.imports[alias.asname] = (alias.name, None)
                    else:
                        top = alias.name.split(".")[0]
                        module.imports[top] = (top, None)
        return module


def module_level(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """Statements run at import time, including those under `if`/`try`."""
    for node in body:
        if isinstance(node, ast.If):
            yield from module_level(node.body)
            yield from module_level(node.orelse)
        elif isinstance(node, ast.Try):
            yield from module_level(node.body)
            for handler in node.handlers:
                yield from module_level(handler.body)
            yield from module_level(node.orelse)
            yield from module_level(node.finalbody)
        else:
            yield node


def resolve_relative(current: str, is_package: bool, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = current.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    if module:
        parts.append(module)
    return ".".join(parts)


def unpack_target(target: ast.expr, value: ast.expr) -> list[tuple[str, ast.expr]]:
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
        if len(target.elts) == len(value.elts):
            out = []
            for t, v in zip(target.elts, value.elts):
                out.extend(unpack_target(t, v))
            return out
    return []


def target_key(target: ast.expr) -> str | None:
    """`x` or `self.x` as an environment key."""
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        return f"{target.value.id}.{target.attr}"
    return None


# --- the evaluator ------------------------------------------------------------


@dataclass
class Lazy:
    """An expression to evaluate in the environment it was bound in."""

    expr: ast.expr
    ctx: "Ctx"


@dataclass
class Ctx:
    module: Module
    func: ast.FunctionDef | ast.AsyncFunctionDef | None
    cls: ast.ClassDef | None
    env: dict  # key -> list[Lazy | value]


class Evaluator:
    def __init__(self, tree: Tree):
        self.tree = tree
        self.steps = 0
        self.depth = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Unresolved("evaluation budget exceeded")

    # Every evaluation returns a list of possible values: a name assigned in
    # both branches of an `if` has two.
    def ev(self, node: ast.expr, ctx: Ctx) -> list:
        if self.depth == 0:
            self.steps = 0  # each top-level evaluation has its own budget
        self.tick()
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise Unresolved("nested too deeply")
            out = self.ev_node(node, ctx)
        except (TypeError, ValueError, AttributeError, IndexError, KeyError,
                ArithmeticError, RecursionError) as e:
            # Source this evaluator does not model; the value stays unknown.
            raise Unresolved(f"{ast.unparse(node)}: {e}") from e
        finally:
            self.depth -= 1
        if not out:
            raise Unresolved(ast.unparse(node))
        uniq: list = []
        for v in out:
            if not any(same(v, u) for u in uniq):
                uniq.append(v)
        return uniq[:MAX_ALTERNATIVES]

    def ev1(self, node: ast.expr, ctx: Ctx) -> Any:
        values = self.ev(node, ctx)
        if len(values) != 1:
            raise Unresolved(f"{ast.unparse(node)} has {len(values)} possible values")
        return values[0]

    def ev_node(self, node: ast.expr, ctx: Ctx) -> list:
        if isinstance(node, ast.Constant):
            return [node.value]
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            parts: list[list] = []
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    parts.append([("*", v) for v in self.ev(elt.value, ctx)])
                else:
                    parts.append([("", v) for v in self.ev(elt, ctx)])
            out = []
            for combo in product(parts):
                items: list = []
                for star, v in combo:
                    if star:
                        items.extend(as_list(v))
                    else:
                        items.append(v)
                out.append(items)
            return out
        if isinstance(node, ast.Dict):
            out = [{}]
            for k, v in zip(node.keys, node.values):
                if k is None:
                    raise Unresolved("dict unpacking")
                keys = self.ev(k, ctx)
                vals = [Lazy(v, ctx)]
                out = [{**d, hashable(kk): vals[0]} for d in out for kk in keys]
            return out
        if isinstance(node, ast.Name):
            return self.name(node.id, ctx)
        if isinstance(node, ast.Attribute):
            return self.attribute(node, ctx)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    parts.append([str(value.value)])
                elif isinstance(value, ast.FormattedValue):
                    vals = self.ev(value.value, ctx)
                    if any(isinstance(v, (Sym, Lazy)) for v in vals):
                        raise Unresolved(ast.unparse(value.value))
                    if value.format_spec is not None:
                        spec = self.ev1(value.format_spec, ctx)
                        parts.append([format(v, spec) for v in vals])
                    elif value.conversion == ord("r"):
                        parts.append([repr(v) for v in vals])
                    else:
                        parts.append([str(v) for v in vals])
            return ["".join(c) for c in product(parts)]
        if isinstance(node, ast.BinOp):
            lefts = self.ev(node.left, ctx)
            rights = self.ev(node.right, ctx)
            return [binop(node.op, a, b) for a in lefts for b in rights]
        if isinstance(node, ast.UnaryOp):
            out = []
            for v in self.ev(node.operand, ctx):
                if isinstance(node.op, ast.USub) and is_number(v):
                    out.append(-v)
                elif isinstance(node.op, ast.UAdd) and is_number(v):
                    out.append(v)
                elif isinstance(node.op, ast.Not):
                    out.append(not truth(v))
                else:
                    raise Unresolved(ast.unparse(node))
            return out
        if isinstance(node, ast.Subscript):
            out = []
            for base in self.ev(node.value, ctx):
                if isinstance(node.slice, ast.Slice):
                    lo = self.ev1(node.slice.lower, ctx) if node.slice.lower else None
                    hi = self.ev1(node.slice.upper, ctx) if node.slice.upper else None
                    st = self.ev1(node.slice.step, ctx) if node.slice.step else None
                    out.append(as_list(base)[lo:hi:st])
                    continue
                for key in self.ev(node.slice, ctx):
                    out.extend(self.force(index(base, key)))
            return out
        if isinstance(node, ast.IfExp):
            tests = self.ev(node.test, ctx)
            out = []
            if any(isinstance(t, Sym) or truth(t) for t in tests):
                out.extend(self.ev(node.body, ctx))
            if any(isinstance(t, Sym) or not truth(t) for t in tests):
                out.extend(self.ev(node.orelse, ctx))
            return out
        if isinstance(node, ast.Compare):
            return [self.compare(node, ctx)]
        if isinstance(node, ast.BoolOp):
            return [self.boolop(node, ctx)]
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            return [[self.ev1(node.elt, c) for c in self.comprehension(node.generators, ctx)]]
        if isinstance(node, ast.DictComp):
            out = {}
            for c in self.comprehension(node.generators, ctx):
                out[hashable(self.ev1(node.key, c))] = self.ev1(node.value, c)
            return [out]
        if isinstance(node, ast.Call):
            return self.call(node, ctx)
        if isinstance(node, ast.NamedExpr):
            return self.ev(node.value, ctx)
        raise Unresolved(ast.unparse(node))

    def force(self, value: Any) -> list:
        if isinstance(value, Lazy):
            return self.ev(value.expr, value.ctx)
        return [value]

    def name(self, name: str, ctx: Ctx) -> list:
        if name in ctx.env:
            out = []
            for b in ctx.env[name]:
                try:
                    out.extend(self.force(b))
                except Unresolved:
                    if len(ctx.env[name]) == 1:
                        raise
            return out
        if ctx.func is not None and name in param_names(ctx.func):
            return [Sym(name)]
        return self.global_name(ctx.module, name)

    def global_name(self, module: Module, name: str, seen: frozenset = frozenset()) -> list:
        key = (module.name, name)
        if key in seen:
            raise Unresolved(f"import cycle at {name}")
        seen = seen | {key}
        if name in module.globals_:
            mctx = Ctx(module, None, None, {})
            out = []
            for expr in module.globals_[name]:
                try:
                    out.extend(self.ev(expr, mctx))
                except Unresolved:
                    if len(module.globals_[name]) == 1:
                        raise
            return out
        if name in module.classes:
            return [ClassRef(module, module.classes[name])]
        if name in module.functions:
            return [FuncRef(module, module.functions[name])]
        if name in module.imports:
            source, attr = module.imports[name]
            if attr is None:
                return [ModuleRef(source)]
            target = self.tree.load(source)
            if target is not None:
                return self.global_name(target, attr, seen)
            sub = self.tree.load(f"{source}.{attr}")
            if sub is not None:
                return [ModuleRef(sub.name)]
            return [Sym(f"{source}.{attr}")]
        if name in ("None", "True", "False"):
            return [{"None": None, "True": True, "False": False}[name]]
        if name in BUILTINS:
            return [("builtin", name)]
        raise Unresolved(name)

    def attribute(self, node: ast.Attribute, ctx: Ctx) -> list:
        key = target_key(node)
        if key is not None and key in ctx.env:
            return self.name(key, ctx)
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") and ctx.cls:
            return self.class_attr(ClassRef(ctx.module, ctx.cls), node.attr, instance=True)
        out = []
        for base in self.ev(node.value, ctx):
            if isinstance(base, ModuleRef):
                module = self.tree.load(base.name)
                if module is None:
                    out.append(Sym(f"{base.name}.{node.attr}"))
                else:
                    out.extend(self.global_name(module, node.attr))
            elif isinstance(base, ClassRef):
                out.extend(self.class_attr(base, node.attr, instance=False))
            elif isinstance(base, Obj):
                if node.attr in base.fields:
                    out.extend(self.force(base.fields[node.attr]))
                else:
                    out.extend(self.class_attr(base.cls, node.attr, instance=False))
            elif isinstance(base, Sym):
                out.append(Sym(f"{base.name}.{node.attr}"))
            else:
                raise Unresolved(ast.unparse(node))
        return out

    def class_attr(self, cref: ClassRef, attr: str, instance: bool, depth: int = 0) -> list:
        """A class constant, or with `instance` what the methods assign to
        `self.attr` (evaluated in the method that assigns it)."""
        if depth > 8:
            raise Unresolved(attr)
        out: list = []
        for stmt in cref.node.body:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    for n, expr in unpack_target(target, stmt.value):
                        if n == attr:
                            out.extend(self.ev(expr, Ctx(cref.module, None, cref.node, {})))
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == attr:
                out.append(FuncRef(cref.module, stmt, cref.node))
        if not out and instance:
            for stmt in cref.node.body:
                if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for sub in ast.walk(stmt):
                    if isinstance(sub, (ast.Assign, ast.AnnAssign)) and sub.value is not None:
                        targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                        for target in targets:
                            if target_key(target) in (f"self.{attr}", f"cls.{attr}"):
                                mctx = Ctx(cref.module, stmt, cref.node, {})
                                try:
                                    out.extend(self.ev(sub.value, mctx))
                                except Unresolved:
                                    pass
        if not out:
            for base in cref.node.bases:
                try:
                    bases = self.ev(base, Ctx(cref.module, None, None, {}))
                except Unresolved:
                    continue
                for b in bases:
                    if isinstance(b, ClassRef):
                        try:
                            out.extend(self.class_attr(b, attr, instance, depth + 1))
                        except Unresolved:
                            pass
        if not out:
            raise Unresolved(f"{cref.node.name}.{attr}")
        return out

    def compare(self, node: ast.Compare, ctx: Ctx) -> Any:
        left = self.ev1(node.left, ctx)
        for op, comp in zip(node.ops, node.comparators):
            right = self.ev1(comp, ctx)
            if isinstance(op, ast.Is):
                ok = is_none_test(left, right, True)
            elif isinstance(op, ast.IsNot):
                ok = is_none_test(left, right, False)
            else:
                if isinstance(left, Sym) or isinstance(right, Sym):
                    raise Unresolved(ast.unparse(node))
                try:
                    ok = COMPARE[type(op)](left, right)
                except (KeyError, TypeError) as e:
                    raise Unresolved(ast.unparse(node)) from e
            if not ok:
                return False
            left = right
        return True

    def boolop(self, node: ast.BoolOp, ctx: Ctx) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for expr in node.values:
            value = self.ev1(expr, ctx)
            if isinstance(value, Sym):
                raise Unresolved(ast.unparse(node))
            if truth(value) != is_and:
                return value
        return value

    def comprehension(self, generators: list[ast.comprehension], ctx: Ctx) -> list[Ctx]:
        ctxs = [ctx]
        for gen in generators:
            nxt = []
            for c in ctxs:
                for iterable in self.ev(gen.iter, c):
                    for item in as_list(iterable):
                        env = dict(c.env)
                        bind(gen.target, item, env)
                        c2 = Ctx(c.module, c.func, c.cls, env)
                        if all(truth(self.ev1(cond, c2)) for cond in gen.ifs):
                            nxt.append(c2)
                        if len(nxt) > 4096:
                            raise Unresolved("comprehension too large")
            ctxs = nxt
        return ctxs

    def call(self, node: ast.Call, ctx: Ctx) -> list:
        funcs = self.ev(node.func, ctx) if not isinstance(node.func, ast.Attribute) else None
        if isinstance(node.func, ast.Attribute):
            # A method of a value (`",".join`, `d.keys()`), or a function of a
            # module or class.
            try:
                bases = self.ev(node.func.value, ctx)
            except Unresolved:
                bases = [Sym(ast.unparse(node.func.value))]
            out = []
            for base in bases:
                if isinstance(base, (ModuleRef, ClassRef)):
                    for f in self.attribute(node.func, ctx):
                        out.extend(self.apply(f, node, ctx))
                else:
                    out.append(self.method(base, node.func.attr, node, ctx))
            return out
        out = []
        for f in funcs or []:
            out.extend(self.apply(f, node, ctx))
        return out

    def args(self, node: ast.Call, ctx: Ctx) -> tuple[list, dict]:
        args = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.extend(as_list(self.ev1(a.value, ctx)))
            else:
                args.append(self.arg_value(a, ctx))
        kwargs = {}
        for k in node.keywords:
            if k.arg is None:
                raise Unresolved("**kwargs")
            kwargs[k.arg] = self.arg_value(k.value, ctx)
        return args, kwargs

    def arg_value(self, expr: ast.expr, ctx: Ctx) -> Any:
        try:
            return self.ev1(expr, ctx)
        except Unresolved:
            return Sym(ast.unparse(expr))

    def method(self, base: Any, name: str, node: ast.Call, ctx: Ctx) -> Any:
        args, kwargs = self.args(node, ctx)
        if isinstance(base, Sym):
            raise Unresolved(f"{base.name}.{name}()")
        if isinstance(base, str):
            if name == "join":
                return base.join(str(x) for x in as_list(args[0]))
            if name == "format":
                return base.format(*args, **kwargs)
            if name in ("lower", "upper", "strip", "replace", "removesuffix", "removeprefix"):
                return getattr(base, name)(*args)
        if isinstance(base, dict):
            if name == "keys":
                return list(base)
            if name == "values":
                return [self.force(v)[0] for v in base.values()]
            if name == "items":
                return [[k, self.force(v)[0]] for k, v in base.items()]
            if name == "get":
                value = base.get(hashable(args[0]), args[1] if len(args) > 1 else None)
                return self.force(value)[0]
        raise Unresolved(f"{type(base).__name__}.{name}()")

    def apply(self, f: Any, node: ast.Call, ctx: Ctx) -> list:
        if isinstance(f, tuple) and f[0] == "builtin":
            args, kwargs = self.args(node, ctx)
            if any(isinstance(a, Sym) for a in args):
                raise Unresolved(ast.unparse(node))
            return [call_builtin(f[1], args, kwargs)]
        if isinstance(f, ClassRef):
            args, kwargs = self.args(node, ctx)
            if args:
                raise Unresolved(f"{f.node.name}(...) with positional arguments")
            return [Obj(f, kwargs)]
        if isinstance(f, FuncRef):
            return [self.run(f, node, ctx)]
        raise Unresolved(ast.unparse(node))

    def run(self, f: FuncRef, node: ast.Call, ctx: Ctx) -> Any:
        """Interpret a small function of the source on the call's arguments.
        Arguments known only at run time whose parameter defaults to None are
        tried as None first: the defaults an unconfigured server uses."""
        args, kwargs = self.args(node, ctx)
        params = f.node.args
        names = [a.arg for a in params.posonlyargs + params.args]
        if f.cls is not None and names and names[0] in ("self", "cls"):
            names = names[1:]
        defaults = dict(zip(reversed(names), reversed(params.defaults)))
        bound: dict[str, Any] = {}
        for n, v in zip(names, args):
            bound[n] = v
        for a, d in zip(params.kwonlyargs, params.kw_defaults):
            if d is not None:
                defaults[a.arg] = d
        bound.update(kwargs)
        for n in names + [a.arg for a in params.kwonlyargs]:
            if n not in bound:
                if n not in defaults:
                    raise Unresolved(f"{f.node.name}() without {n}")
                bound[n] = self.ev1(defaults[n], Ctx(f.module, None, f.cls, {}))
        optional = [n for n, v in bound.items()
                    if isinstance(v, Sym) and n in defaults
                    and isinstance(defaults[n], ast.Constant) and defaults[n].value is None]
        last: Exception = Unresolved(f.node.name)
        for k in range(len(optional) + 1):
            for as_none in itertools.combinations(optional, len(optional) - k):
                env = {n: [None if n in as_none else v] for n, v in bound.items()}
                try:
                    return self.interpret(f, env)
                except Unresolved as e:
                    last = e
        if f.node.name == "build_1_2_5_buckets":
            sym = next((v for v in bound.values() if isinstance(v, Sym)), None)
            if sym is not None:
                return Series125(sym.name.split(".")[-1])
        raise last

    def interpret(self, f: FuncRef, env: dict) -> Any:
        ctx = Ctx(f.module, f.node, f.cls, env)
        try:
            self.block(f.node.body, ctx)
        except Return as r:
            return r.value
        return None

    def block(self, body: list[ast.stmt], ctx: Ctx) -> None:
        for stmt in body:
            self.tick()
            self.stmt(stmt, ctx)

    def stmt(self, stmt: ast.stmt, ctx: Ctx) -> None:
        if isinstance(stmt, ast.Return):
            raise Return(self.ev1(stmt.value, ctx) if stmt.value else None)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            if stmt.value is None:
                return
            value = self.ev1(stmt.value, ctx)
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                bind(t, value, ctx.env)
            return
        if isinstance(stmt, ast.AugAssign):
            key = target_key(stmt.target)
            if key is None or key not in ctx.env:
                raise Unresolved(ast.unparse(stmt))
            ctx.env[key] = [binop(stmt.op, self.ev1(stmt.target, ctx), self.ev1(stmt.value, ctx))]
            return
        if isinstance(stmt, ast.If):
            test = self.ev1(stmt.test, ctx)
            if isinstance(test, Sym):
                raise Unresolved(ast.unparse(stmt.test))
            self.block(stmt.body if truth(test) else stmt.orelse, ctx)
            return
        if isinstance(stmt, ast.While):
            while True:
                test = self.ev1(stmt.test, ctx)
                if isinstance(test, Sym):
                    raise Unresolved(ast.unparse(stmt.test))
                if not truth(test):
                    break
                self.block(stmt.body, ctx)
            return
        if isinstance(stmt, ast.For):
            for item in as_list(self.ev1(stmt.iter, ctx)):
                bind(stmt.target, item, ctx.env)
                self.block(stmt.body, ctx)
            return
        if isinstance(stmt, ast.Expr):
            call = stmt.value
            if isinstance(call, ast.Constant):
                return  # a docstring
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr in ("append", "extend")):
                key = target_key(call.func.value)
                if key in ctx.env:
                    items = list(as_list(self.ev1(call.func.value, ctx)))
                    value = self.ev1(call.args[0], ctx)
                    items.extend(as_list(value) if call.func.attr == "extend" else [value])
                    ctx.env[key] = [items]
                    return
            raise Unresolved(ast.unparse(stmt))
        if isinstance(stmt, (ast.Pass, ast.Assert)):
            return
        raise Unresolved(type(stmt).__name__)


class Return(Exception):
    def __init__(self, value: Any):
        super().__init__()
        self.value = value


BUILTINS = {"list", "tuple", "sorted", "float", "int", "str", "range", "len",
            "reversed", "min", "max", "set", "frozenset", "dict", "abs", "round"}


def call_builtin(name: str, args: list, kwargs: dict) -> Any:
    try:
        if name in ("list", "tuple", "set", "frozenset"):
            return list(as_list(args[0])) if args else []
        if name == "sorted":
            return sorted(as_list(args[0]), reverse=bool(kwargs.get("reverse")))
        if name == "reversed":
            return list(reversed(as_list(args[0])))
        if name == "range":
            r = range(*args)
            if len(r) > 100_000:
                raise Unresolved("range too long")
            return list(r)
        if name == "dict":
            return dict(**kwargs)
        if name in ("min", "max") and len(args) == 1:
            return {"min": min, "max": max}[name](as_list(args[0]))
        return {"float": float, "int": int, "str": str, "len": len, "min": min,
                "max": max, "abs": abs, "round": round}[name](*args)
    except (TypeError, ValueError, IndexError, KeyError) as e:
        raise Unresolved(f"{name}(): {e}") from e


COMPARE = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in as_list(b) if not isinstance(b, (str, dict)) else a in b,
    ast.NotIn: lambda a, b: a not in as_list(b) if not isinstance(b, (str, dict)) else a not in b,
}


def is_none_test(left: Any, right: Any, is_: bool) -> bool:
    # A run-time value stands for a value that is there: not None.
    if right is None:
        same_ = left is None
    elif left is None:
        same_ = right is None
    else:
        raise Unresolved("`is` between values")
    return same_ if is_ else not same_


def truth(v: Any) -> bool:
    if isinstance(v, Sym):
        raise Unresolved(v.name)
    return bool(v)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def binop(op: ast.operator, a: Any, b: Any) -> Any:
    if isinstance(op, ast.Add):
        if isinstance(a, list) or isinstance(b, list):
            if isinstance(a, (list, Sym)) and isinstance(b, (list, Sym)):
                return as_items(a) + as_items(b)
        elif isinstance(a, str) and isinstance(b, str):
            return a + b
        elif is_number(a) and is_number(b):
            return a + b
        raise Unresolved("+")
    if not (is_number(a) and is_number(b)):
        if isinstance(op, ast.Mult) and isinstance(a, (str, list)) and isinstance(b, int):
            return a * b
        raise Unresolved(type(op).__name__)
    try:
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            return a / b
        if isinstance(op, ast.FloorDiv):
            return a // b
        if isinstance(op, ast.Mod):
            return a % b
        if isinstance(op, ast.Pow):
            if abs(b) > 64:
                raise Unresolved("power too large")
            return a ** b
    except ArithmeticError as e:
        raise Unresolved(str(e)) from e
    raise Unresolved(type(op).__name__)


def as_items(v: Any) -> list:
    """A label list; a run-time list (a parameter) stays one symbolic item."""
    return [v] if isinstance(v, Sym) else list(v)


def as_list(v: Any) -> list:
    if isinstance(v, list):
        return v
    if isinstance(v, dict):
        return list(v)
    if isinstance(v, str):
        return list(v)
    raise Unresolved(f"not a sequence: {describe(v)}")


def index(base: Any, key: Any) -> Any:
    if isinstance(key, Sym) or isinstance(base, Sym):
        raise Unresolved("subscript of a run-time value")
    try:
        if isinstance(base, dict):
            return base[hashable(key)]
        if isinstance(base, (list, str)) and isinstance(key, int):
            return base[key]
    except (KeyError, IndexError) as e:
        raise Unresolved(f"no item {key!r}") from e
    raise Unresolved("subscript")


def hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(hashable(x) for x in v)
    try:
        hash(v)
    except TypeError as e:
        raise Unresolved("unhashable key") from e
    return v


def bind(target: ast.expr, value: Any, env: dict) -> None:
    if isinstance(target, (ast.Tuple, ast.List)):
        items = as_list(value)
        if len(items) != len(target.elts):
            raise Unresolved("unpacking")
        for t, v in zip(target.elts, items):
            bind(t, v, env)
        return
    key = target_key(target)
    if key is None:
        return  # `d[k] = v` and the like do not bind names
    env[key] = [value]


def param_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    a = func.args
    names = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
    if a.vararg:
        names.add(a.vararg.arg)
    if a.kwarg:
        names.add(a.kwarg.arg)
    return names


def product(parts: list[list]) -> list[tuple]:
    out: list[tuple] = [()]
    for p in parts:
        out = [o + (x,) for o in out for x in p]
        if len(out) > MAX_ALTERNATIVES:
            raise Unresolved("too many possible values")
    return out


def same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and a == b
    except Exception:  # noqa: BLE001 - comparing arbitrary values
        return False


def describe(v: Any) -> str:
    if isinstance(v, Sym):
        return v.name
    return type(v).__name__


# --- finding definitions ----------------------------------------------------


@dataclass
class Definition:
    name: str  # as exposed (counters with `_total`)
    kind: str
    where: str
    help: str | None = None
    labels: list[str] | None = None  # None: unresolved
    buckets: Any = None  # list of floats, Series125, or None for non-histograms
    unresolved: list[str] = field(default_factory=list)


def callee_kind(func: ast.expr) -> tuple[str, str] | None:
    """("metric"|"metadata", kind) for a metric constructor callee."""
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name is None:
        return None
    if name in METRIC_CLASSES:
        return "metric", METRIC_CLASSES[name]
    m = CLS_ATTR.match(name)
    if m and isinstance(func, ast.Attribute):
        return "metric", m.group(1)
    m = METADATA_CLASS.search(name)
    if m:
        return "metadata", m.group(1).lower()
    return None


def exposed_name(name: str, kind: str) -> str:
    if kind == "counter":
        return name.removesuffix("_total") + "_total"
    return name


class Finder:
    """Walks each function that builds metrics, keeping track of what each
    local name may hold at each point (both branches of an `if`)."""

    def __init__(self, tree: Tree):
        self.tree = tree
        self.eval = Evaluator(tree)
        self.defs: list[Definition] = []
        self.notes: list[str] = []

    def scan(self) -> None:
        for path in self.tree.files():
            text = path.read_text(encoding="utf-8", errors="replace")
            if "vllm:" not in text and "Metadata" not in text and "_cls" not in text:
                continue
            module = self.tree.load(self.tree.module_name(path))
            if module is None:
                continue
            if not any(isinstance(n, ast.Call) and callee_kind(n.func)
                       for n in ast.walk(module.tree)):
                continue
            self.scope(module.tree.body, Ctx(module, None, None, {}))

    def scope(self, body: list[ast.stmt], ctx: Ctx) -> dict:
        env = ctx.env
        for stmt in body:
            env = self.statement(stmt, Ctx(ctx.module, ctx.func, ctx.cls, env))
        return env

    def statement(self, stmt: ast.stmt, ctx: Ctx) -> dict:
        env = dict(ctx.env)
        if isinstance(stmt, ast.ClassDef):
            self.scope(stmt.body, Ctx(ctx.module, None, stmt, {}))
            return env
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            cls = ctx.cls if ctx.func is None else ctx.cls
            self.scope(stmt.body, Ctx(ctx.module, stmt, cls, {}))
            return env
        # Definitions in this statement's own expressions.
        for expr in own_expressions(stmt):
            self.expressions(expr, [ctx])
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                if isinstance(t, ast.Subscript) and isinstance(stmt.value, ast.Call):
                    self.keyed_metadata(t.slice, stmt.value, ctx)
                for key, expr in bindings(t, stmt.value):
                    env[key] = [Lazy(expr, ctx)]
            return env
        if isinstance(stmt, ast.AugAssign):
            return env
        if isinstance(stmt, ast.If):
            a = self.scope(stmt.body, Ctx(ctx.module, ctx.func, ctx.cls, dict(env)))
            b = self.scope(stmt.orelse, Ctx(ctx.module, ctx.func, ctx.cls, dict(env)))
            return merge(a, b)
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            loop_ctxs = []
            try:
                for iterable in self.eval.ev(stmt.iter, ctx):
                    for item in as_list(iterable):
                        e = dict(env)
                        bind(stmt.target, item, e)
                        loop_ctxs.append(Ctx(ctx.module, ctx.func, ctx.cls, e))
            except Unresolved:
                loop_ctxs = []
            if not loop_ctxs:
                e = dict(env)
                for key in target_names(stmt.target):
                    e[key] = [Sym(key)]
                loop_ctxs = [Ctx(ctx.module, ctx.func, ctx.cls, e)]
            after = env
            for c in loop_ctxs[:256]:
                after = merge(after, self.scope(stmt.body, c))
            return merge(after, self.scope(stmt.orelse, Ctx(ctx.module, ctx.func, ctx.cls, env)))
        if isinstance(stmt, ast.While):
            after = self.scope(stmt.body, Ctx(ctx.module, ctx.func, ctx.cls, dict(env)))
            return merge(env, after)
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            return self.scope(stmt.body, Ctx(ctx.module, ctx.func, ctx.cls, env))
        if isinstance(stmt, ast.Try):
            a = self.scope(stmt.body, Ctx(ctx.module, ctx.func, ctx.cls, dict(env)))
            out = merge(env, a)
            for h in stmt.handlers:
                out = merge(out, self.scope(h.body, Ctx(ctx.module, ctx.func, ctx.cls, dict(env))))
            out = self.scope(stmt.orelse, Ctx(ctx.module, ctx.func, ctx.cls, out))
            return self.scope(stmt.finalbody, Ctx(ctx.module, ctx.func, ctx.cls, out))
        return env

    def expressions(self, node: ast.AST, ctxs: list[Ctx]) -> None:
        """Find definitions in an expression; comprehensions bind their
        targets to each item of what they iterate over."""
        if isinstance(node, (ast.Lambda,)):
            return
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
            inner: list[Ctx] = []
            for c in ctxs:
                try:
                    inner.extend(self.eval.comprehension(node.generators, c))
                except Unresolved:
                    e = dict(c.env)
                    for gen in node.generators:
                        for key in target_names(gen.target):
                            e[key] = [Sym(key)]
                    inner.append(Ctx(c.module, c.func, c.cls, e))
            parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for p in parts:
                self.expressions(p, inner[:256])
            return
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if k is not None and isinstance(v, ast.Call):
                    for c in ctxs:
                        self.keyed_metadata(k, v, c)
        if isinstance(node, ast.Call):
            kind = callee_kind(node.func)
            if kind and kind[0] == "metric":
                for c in ctxs:
                    self.metric_call(node, kind[1], c)
        for child in ast.iter_child_nodes(node):
            self.expressions(child, ctxs)

    def where(self, node: ast.AST, ctx: Ctx) -> str:
        return f"{ctx.module.rel}:{node.lineno}"

    def metric_call(self, node: ast.Call, kind: str, ctx: Ctx) -> None:
        args = {k.arg: k.value for k in node.keywords if k.arg}
        for pos, key in enumerate(("name", "documentation", "labelnames")):
            if key not in args and len(node.args) > pos:
                args[key] = node.args[pos]
        name_expr = args.get("name")
        names = self.names(name_expr, ctx)
        if names is None:
            if "documentation" in args or CLS_ATTR.match(getattr(node.func, "attr", "")):
                self.notes.append(f"{self.where(node, ctx)}: a metric whose name is "
                                  f"not resolved ({ast.unparse(name_expr) if name_expr else '?'})")
            return
        for name in names:
            d = Definition(exposed_name(name, kind), kind, self.where(node, ctx))
            d.help = self.text(args.get("documentation"), ctx, d)
            d.labels = self.labels(args.get("labelnames"), ctx, d, base=[])
            if kind == "histogram":
                d.buckets = self.buckets(args.get("buckets"), ctx, d)
            self.defs.append(d)

    def keyed_metadata(self, key: ast.expr, call: ast.Call, ctx: Ctx) -> None:
        kind = callee_kind(call.func)
        if not kind or kind[0] != "metadata":
            return
        names = self.names(key, ctx)
        if names is None:
            self.notes.append(f"{self.where(call, ctx)}: metric metadata under a name "
                              f"that is not resolved ({ast.unparse(key)})")
            return
        args = {k.arg: k.value for k in call.keywords if k.arg}
        for name in names:
            d = Definition(exposed_name(name, kind[1]), kind[1], self.where(call, ctx))
            d.help = self.text(args.get("documentation"), ctx, d)
            d.labels = self.labels(args.get("labelnames"), ctx, d, base=list(PER_ENGINE_LABELS))
            if kind[1] == "histogram":
                d.buckets = self.buckets(args.get("buckets"), ctx, d)
            self.defs.append(d)

    def names(self, expr: ast.expr | None, ctx: Ctx) -> list[str] | None:
        if expr is None:
            return None
        try:
            values = self.eval.ev(expr, ctx)
        except Unresolved:
            return None
        names = [v for v in values if isinstance(v, str) and v.startswith("vllm:")]
        return names or None

    def text(self, expr: ast.expr | None, ctx: Ctx, d: Definition) -> str | None:
        if expr is None:
            d.unresolved.append("HELP")
            return None
        try:
            values = [v for v in self.eval.ev(expr, ctx) if isinstance(v, str)]
        except Unresolved:
            values = []
        if len(values) != 1:
            d.unresolved.append("HELP")
            return None
        return values[0]

    def labels(self, expr: ast.expr | None, ctx: Ctx, d: Definition, base: list) -> list | None:
        if expr is None:
            return base
        try:
            values = self.eval.ev(expr, ctx)
        except Unresolved:
            values = []
        out = []
        for v in values:
            items = [v] if isinstance(v, Sym) else (v if isinstance(v, list) else None)
            if items is None:
                continue
            labels = list(base)
            for item in items:
                if isinstance(item, str):
                    labels.append(item)
                elif isinstance(item, Sym) and item.name.split(".")[-1].lstrip("_") == PER_ENGINE_PARAM:
                    labels.extend(PER_ENGINE_LABELS)
                else:
                    labels = None
                    break
            if labels is not None and labels not in out:
                out.append(labels)
        if len(out) != 1:
            d.unresolved.append("labels")
            return None
        return out[0]

    def buckets(self, expr: ast.expr | None, ctx: Ctx, d: Definition) -> Any:
        if expr is None:
            return list(PROMETHEUS_DEFAULT_BUCKETS)
        try:
            values = self.eval.ev(expr, ctx)
        except Unresolved:
            values = []
        out = []
        for v in values:
            if v is None:
                v = list(PROMETHEUS_DEFAULT_BUCKETS)
            if isinstance(v, Series125):
                b: Any = v
            elif isinstance(v, list) and all(is_number(x) for x in v):
                b = [float(x) for x in v if x != float("inf")]
            else:
                continue
            if b not in out:
                out.append(b)
        if len(out) != 1:
            d.unresolved.append("buckets")
            return None
        return out[0]


def own_expressions(stmt: ast.stmt) -> list[ast.AST]:
    """The expressions a statement evaluates itself (not its nested blocks)."""
    if isinstance(stmt, (ast.If, ast.While)):
        return [stmt.test]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [stmt.iter]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [i.context_expr for i in stmt.items]
    if isinstance(stmt, ast.Try):
        return []
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return []
    return [stmt]


def bindings(target: ast.expr, value: ast.expr) -> list[tuple[str, ast.expr]]:
    key = target_key(target)
    if key is not None:
        return [(key, value)]
    return unpack_target(target, value)


def target_names(target: ast.expr) -> list[str]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for t in target.elts for n in target_names(t)]
    key = target_key(target)
    return [key] if key else []


def merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        if k in out:
            if out[k] is not v:
                out[k] = out[k] + [x for x in v if not any(x is y for y in out[k])]
        else:
            out[k] = v
    return out


# --- the catalog side -------------------------------------------------------


def parse_version(text: str) -> tuple[int, int, int]:
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?([.\-+]?(?:post|rc|dev|a|b)\w*)?", text.strip())
    if not m:
        raise UsageError(f"invalid vLLM version {text!r}: expected MAJOR.MINOR or "
                         "MAJOR.MINOR.PATCH, e.g. 0.34 or 0.33.0")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def vtuple(text: str) -> tuple[int, int, int]:
    return parse_version(text)


def span_defines(span: dict | None, version: tuple) -> bool:
    """Does the release's source define the metric (hidden ones included)?"""
    if not span:
        return False
    if version < vtuple(span["added"]):
        return False
    return not (span.get("removed") and version >= vtuple(span["removed"]))


@dataclass
class Expected:
    name: str
    kind: str
    facts: list[dict]  # one per engine whose source defines it at the version


def catalog_at(catalog: list[dict], version: tuple) -> dict[str, Expected]:
    out = {}
    for m in catalog:
        if not m["name"].startswith("vllm:"):
            continue
        facts = []
        for engine in ("v0", "v1"):
            if not span_defines(m.get(engine), version):
                continue
            entries = [f for f in m.get("facts", []) if f["engine"] == engine
                       and vtuple(f["from"]) <= version]
            if entries:
                facts.append(entries[-1])
        if facts:
            out[m["name"]] = Expected(m["name"], m["kind"], facts)
    return out


def load_catalog(path: str | None) -> list[dict]:
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot read the catalog file {path}: {e.strerror}") from e
        what = path
    else:
        binary = os.environ.get("VLLM_GRAFANA_BIN")
        if binary:
            cmd = shlex.split(binary) + ["catalog"]
        else:
            cmd = ["cargo", "run", "--quiet", "--bin", "vllm-grafana", "--", "catalog"]
        what = " ".join(cmd)
        try:
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        except OSError as e:
            raise UsageError(f"cannot run `{what}`: {e.strerror}"
                             " (set VLLM_GRAFANA_BIN to a built vllm-grafana)") from e
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-5:]
            raise UsageError(f"`{what}` failed with status {proc.returncode}:\n  "
                             + "\n  ".join(tail))
        text = proc.stdout
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"the catalog from {what} is not JSON: {e}") from e
    if not isinstance(data, list) or not all(isinstance(m, dict) and "facts" in m for m in data):
        raise UsageError(f"the catalog from {what} does not list metrics with their "
                         "facts per release; is that build older than this script?")
    return data


# --- comparing --------------------------------------------------------------


def fmt_buckets(b: Any) -> str:
    if isinstance(b, Series125):
        return f"1-2-5 up to {b.up_to}"
    if isinstance(b, dict):
        return f"1-2-5 up to {b.get('up_to')}"
    return "[" + ", ".join(f"{x:g}" for x in b) + "]"


def show_labels(labels: Iterable[str]) -> str:
    return ", ".join(sorted(labels)) or "none"


def same_buckets(expected: Any, got: Any) -> bool:
    if isinstance(got, Series125) or isinstance(expected, dict):
        return (isinstance(got, Series125) and isinstance(expected, dict)
                and expected.get("series") == "1-2-5")
    if expected is None or got is None:
        return expected == got
    return len(expected) == len(got) and all(abs(a - b) <= 1e-9 * max(1.0, abs(a))
                                             for a, b in zip(expected, got))


@dataclass
class Report:
    missing: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def drift(self) -> int:
        return len(self.missing) + len(self.wrong) + len(self.gone)


def compare(defs: list[Definition], catalog: list[dict], version: tuple) -> Report:
    report = Report()
    expected = catalog_at(catalog, version)
    by_name: dict[str, list[Definition]] = {}
    for d in defs:
        by_name.setdefault(d.name, []).append(d)
    known = {m["name"]: m for m in catalog}
    for name in sorted(by_name):
        variants = by_name[name]
        first = variants[0]
        if name not in expected:
            m = known.get(name)
            if m is None:
                labels = ", ".join(first.labels) if first.labels is not None else "unresolved"
                report.missing.append(f"{name}  {first.kind}, labels: {labels}  ({first.where})")
            else:
                spans = [f"from {m[e]['added']}"
                         + (f" until before {m[e]['removed']}" if m[e].get("removed") else "")
                         + f" ({e.upper()})"
                         for e in ("v0", "v1") if m.get(e)]
                report.wrong.append(f"{name}  release: the catalog has it "
                                    f"{', '.join(spans) or 'in no release'}; "
                                    f"this source defines it  ({first.where})")
            continue
        exp = expected[name]
        where = first.where
        if not any(d.kind == exp.kind for d in variants):
            report.wrong.append(f"{name}  type: catalog {exp.kind}, source {first.kind}  ({where})")
        label_sets = [set(d.labels) for d in variants if d.labels is not None]
        if not label_sets:
            report.notes.append(f"{name}  labels not resolved in the source ({where})")
        elif not any(set(f["labels"]) == g for f in exp.facts for g in label_sets):
            report.wrong.append(f"{name}  labels: catalog {show_labels(exp.facts[-1]['labels'])}; "
                                f"source {show_labels(label_sets[0])}  ({where})")
        helps = [d.help for d in variants if d.help is not None]
        if not helps:
            report.notes.append(f"{name}  HELP not resolved in the source ({where})")
        elif not any(f["help"] == h for f in exp.facts for h in helps):
            report.wrong.append(f"{name}  HELP: catalog {json.dumps(exp.facts[-1]['help'])}; "
                                f"source {json.dumps(helps[0])}  ({where})")
        if exp.kind == "histogram":
            gots = [d.buckets for d in variants if d.buckets is not None]
            wants = [f.get("buckets") for f in exp.facts]
            if not gots:
                report.notes.append(f"{name}  buckets not resolved in the source ({where})")
            elif not any(same_buckets(w, g) for w in wants for g in gots):
                want = wants[-1]
                report.wrong.append(f"{name}  buckets: catalog "
                                    f"{fmt_buckets(want) if want is not None else 'none'}; "
                                    f"source {fmt_buckets(gots[0])}  ({where})")
    for name in sorted(set(expected) - set(by_name)):
        report.gone.append(name)
    return report


# --- getting the source -------------------------------------------------------


def pip_version(version: str) -> str:
    return version.strip().lstrip("v")


def wheel_version(filename: str) -> str | None:
    m = re.match(r"vllm-([^-]+)-", filename)
    return m.group(1) if m else None


def same_release(a: str, b: str) -> bool:
    def norm(s: str) -> list[str]:
        parts = re.split(r"[.]", s)
        while len(parts) < 3:
            parts.append("0")
        return parts
    return norm(a) == norm(b)


def fetch_source(version: str, cache: Path) -> Path:
    wanted = pip_version(version)
    wheels = cache / "wheels"
    unpacked = cache / "src" / wanted
    if (unpacked / ".complete").is_file():
        return unpacked
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = find_wheel(wheels, wanted)
    if wheel is None:
        # The Linux x86-64 wheel whatever this machine is: only its Python
        # files are read. Never an sdist, which pip would have to build.
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               *(arg for p in WHEEL_PLATFORMS for arg in ("--platform", p)),
               "--python-version", WHEEL_PYTHON,
               "--disable-pip-version-check", "--quiet", f"vllm=={wanted}", "-d", str(wheels)]
        print(f"downloading the vLLM {wanted} wheel into {wheels} ...", file=sys.stderr)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except OSError as e:
            raise UsageError(f"cannot run pip: {e.strerror}") from e
        if proc.returncode != 0:
            lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
            reason = lines[-1] if lines else f"pip exited with status {proc.returncode}"
            raise UsageError(f"cannot download vllm=={wanted} from PyPI: {reason}")
        wheel = find_wheel(wheels, wanted)
        if wheel is None:
            raise UsageError(f"pip reported success but no vllm {wanted} wheel is in {wheels}")
    unpack(wheel, unpacked)
    return unpacked


def find_wheel(folder: Path, wanted: str) -> Path | None:
    for path in sorted(folder.glob("vllm-*.whl")):
        got = wheel_version(path.name)
        if got and same_release(got, wanted):
            return path
    return None


def unpack(wheel: Path, dest: Path) -> None:
    """Extract the wheel's Python files into `dest`, all or nothing."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
    try:
        with zipfile.ZipFile(wheel) as z:
            for info in z.infolist():
                name = info.filename
                if not name.startswith("vllm/") or not name.endswith(".py"):
                    continue
                parts = Path(name).parts
                if ".." in parts or Path(name).is_absolute():
                    continue
                target = tmp.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
        (tmp / ".complete").write_text(wheel.name + "\n", encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except (zipfile.BadZipFile, OSError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UsageError(f"cannot unpack {wheel}: {e} (delete it to download it again)") from e


def source_root(path: str) -> Path:
    root = Path(path)
    if not root.is_dir():
        raise UsageError(f"--source {path}: no such directory")
    if (root / "vllm").is_dir():
        return root
    if root.name == "vllm" and (root / "__init__.py").is_file():
        return root.parent
    raise UsageError(f"--source {path}: no vllm/ package in it")


# --- main ---------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see --help)")


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 9):
        raise UsageError("python 3.9 or newer is required (ast.unparse)")
    parser = Parser(
        prog="catalog-drift.sh",
        description="Compare the metric catalog with the Prometheus metrics a vLLM "
                    "release's source defines.",
        epilog="Exit status: 0 when they agree, 1 when they drift apart, 2 on a usage, "
               "download or build error. The catalog comes from $VLLM_GRAFANA_BIN "
               "(a built vllm-grafana) or else `cargo run --bin vllm-grafana`.",
    )
    parser.add_argument("version", metavar="VERSION", help="vLLM release, e.g. 0.34.0")
    parser.add_argument("--source", metavar="DIR",
                        help="read this unpacked source tree (holding vllm/) instead of "
                             "downloading the wheel")
    parser.add_argument("--cache", metavar="DIR", default=str(DEFAULT_CACHE),
                        help="where wheels are kept and unpacked (default: %(default)s)")
    parser.add_argument("--only", metavar="REGEX",
                        help="compare only the metrics whose name matches REGEX "
                             "(e.g. 'vllm:nixl_'), on both sides")
    parser.add_argument("--catalog", metavar="FILE",
                        help="read the catalog JSON from FILE instead of running vllm-grafana")
    args = parser.parse_args(argv)
    version = parse_version(args.version)
    only = None
    if args.only is not None:
        try:
            only = re.compile(args.only)
        except re.error as e:
            raise UsageError(f"--only {args.only!r} is not a regular expression: {e}") from e
    shown = ".".join(map(str, version))
    if args.source:
        root = source_root(args.source)
    else:
        root = fetch_source(args.version, Path(args.cache))
    catalog = load_catalog(args.catalog)
    if only is not None:
        catalog = [m for m in catalog if only.search(m["name"])]

    tree = Tree(root)
    finder = Finder(tree)
    finder.scan()
    if only is not None:
        finder.defs = [d for d in finder.defs if only.search(d.name)]
    report = compare(finder.defs, catalog, version)
    report.notes.extend(finder.notes)
    report.notes.extend(f"not parsed: {u}" for u in tree.unparsable)

    defined = len({d.name for d in finder.defs})
    listed = len(catalog_at(catalog, version))
    print(f"vLLM {shown}: the source defines {defined} vllm: metrics; "
          f"the catalog lists {listed} for this release")
    sections = [
        ("missing from the catalog", report.missing),
        ("wrong in the catalog", report.wrong),
        ("in the catalog but not defined by the source", report.gone),
        ("not compared", report.notes),
    ]
    for title, items in sections:
        if items:
            print(f"\n{title} ({len(items)}):")
            for item in items:
                print(f"  {item}")
    n = report.drift()
    print(f"\n{'no drift' if n == 0 else f'drift: {n} finding' + ('s' if n != 1 else '')}")
    return 1 if n else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as e:
        print(f"catalog-drift: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("catalog-drift: interrupted", file=sys.stderr)
        sys.exit(2)
    except Exception:  # noqa: BLE001 - a bug here must not read as drift (status 1)
        import traceback

        traceback.print_exc()
        print("catalog-drift: internal error (above); nothing was compared", file=sys.stderr)
        sys.exit(2)
