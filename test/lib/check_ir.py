#!/usr/bin/env python3
"""Structural checks over printed tessel IR, for lit RUN lines.

    %python %testlib/check_ir.py FILE.mlir [--count OP=N]... [--no-static-shape-ops]

--count OP=N
    FILE must hold exactly N operations named OP (e.g. tessel.matmul=16).
    Repeatable. Both the pretty form (`%0 = tessel.matmul ...`) and the generic
    form (`%0 = "tessel.matmul"(...)`) are counted; an op name that only appears
    inside an attribute (`{tessel.name = "x"}`) is not.

--no-static-shape-ops
    Fail if a `tessel.shape` reads only static dims of its operand (the dims in
    [start, end), ONNX Shape semantics: negative bounds count from the rank,
    then clamped to [0, rank]), or a `tessel.size` has an operand with a fully
    static shape. Such ops are constants and the -O2 pipeline should have
    folded them. Unranked operands count as dynamic.

Exits 0 when every check holds; otherwise prints each failure (with the
offending line for shape ops) to stderr and exits 1. Exits 2 on usage errors
or when FILE holds no operations at all (so an empty file never passes).
"""

import argparse
import collections
import re
import sys

# An operation at the start of a line: optional results (`%0 = `, `%1:2 = `,
# `%a, %b = `), then the op name, bare or quoted (generic form).
OP_RE = re.compile(
    r'^\s*(?:%[\w$.#-]+(?::\d+)?(?:\s*,\s*%[\w$.#-]+(?::\d+)?)*\s*=\s*)?'
    r'"?([A-Za-z_][\w$]*\.[\w$.]+)"?(?=[\s(<{]|$)')

OPEN = {'(': ')', '[': ']', '{': '}', '<': '>'}
CLOSE = {v: k for k, v in OPEN.items()}


def split_top_level(text, sep):
    """Split `text` at `sep` characters that are outside any brackets/strings."""
    parts, depth, cur, in_str, i = [], 0, [], False, 0
    while i < len(text):
        c = text[i]
        if in_str:
            cur.append(c)
            if c == '\\' and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            cur.append(c)
        elif c == '-' and text.startswith('->', i):
            cur.append('->')  # the '>' of an arrow is no closing bracket
            i += 1
        elif c in OPEN:
            depth += 1
            cur.append(c)
        elif c in CLOSE:
            depth -= 1
            cur.append(c)
        elif c == sep and depth == 0:
            parts.append(''.join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append(''.join(cur))
    return parts


def find_top_level(text, needle):
    """Index of the first `needle` outside brackets/strings, or -1."""
    depth, in_str, i = 0, False, 0
    while i < len(text):
        c = text[i]
        if in_str:
            if c == '\\':
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif text.startswith('->', i):
            if depth == 0 and text.startswith(needle, i):
                return i
            i += 2
            continue
        elif c in OPEN:
            depth += 1
        elif c in CLOSE:
            depth -= 1
        elif depth == 0 and text.startswith(needle, i):
            return i
        i += 1
    return -1


def operand_types(line):
    """Operand types of an op printed as `... : (T1, T2) -> R` (or `: T`)."""
    body = re.sub(r'\s+loc\(.*\)\s*$', '', line.rstrip())
    colon = find_top_level(body, ' : ')
    if colon < 0:
        return None
    sig = body[colon + 3:].strip()
    arrow = find_top_level(sig, '->')
    if arrow < 0:
        return None
    ins = sig[:arrow].strip()
    if ins.startswith('(') and ins.endswith(')'):
        ins = ins[1:-1]
    return [t.strip() for t in split_top_level(ins, ',') if t.strip()]


def tensor_dims(type_text):
    """[int or None, ...] for `tensor<2x?xf32>`; None if unranked/not a tensor."""
    m = re.match(r'^tensor<(.*)>$', type_text.strip())
    if not m:
        return None
    inner = split_top_level(m.group(1), ',')[0].strip()  # drop an encoding
    if inner.startswith('*'):
        return None
    dims = []
    while True:
        d = re.match(r'^(\?|\d+)x', inner)
        if not d:
            break
        dims.append(None if d.group(1) == '?' else int(d.group(1)))
        inner = inner[d.end():]
    return dims


def int_attr(line, name):
    m = re.search(r'[{,]\s*' + re.escape(name) + r'\s*=\s*(-?\d+)\s*(?::\s*i\d+)?',
                  line)
    return int(m.group(1)) if m else None


def shape_is_static(line, dims):
    rank = len(dims)
    start = int_attr(line, 'start')
    end = int_attr(line, 'end')
    start = 0 if start is None else start
    end = rank if end is None else end
    if start < 0:
        start += rank
    if end < 0:
        end += rank
    start = min(max(start, 0), rank)
    end = min(max(end, 0), rank)
    return all(d is not None for d in dims[start:end])


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('file')
    ap.add_argument('--count', action='append', default=[], metavar='OP=N',
                    help='require exactly N ops named OP (repeatable)')
    ap.add_argument('--no-static-shape-ops', action='store_true',
                    help='fail on tessel.shape/tessel.size of static dims')
    args = ap.parse_args(argv)

    expected = collections.OrderedDict()
    for spec in args.count:
        name, eq, num = spec.partition('=')
        if not eq or not name or not num.isdigit():
            ap.error('--count wants OP=N, got %r' % spec)
        expected[name.strip()] = int(num)

    try:
        with open(args.file, encoding='utf-8', errors='replace') as f:
            lines = f.readlines()
    except OSError as e:
        print('check_ir: error: cannot read %s: %s' % (args.file, e),
              file=sys.stderr)
        return 2

    counts = collections.Counter()
    failures = []
    in_resources = False
    for lineno, line in enumerate(lines, 1):
        # Skip the `{-# dialect_resources: ... #-}` blob section.
        if line.lstrip().startswith('{-#'):
            in_resources = True
        if in_resources:
            if '#-}' in line:
                in_resources = False
            continue
        m = OP_RE.match(line)
        if not m:
            continue
        op = m.group(1)
        counts[op] += 1
        if not args.no_static_shape_ops or op not in ('tessel.shape',
                                                      'tessel.size'):
            continue
        types = operand_types(line)
        if not types:
            failures.append('%s:%d: cannot read the operand type of this %s:\n  %s'
                            % (args.file, lineno, op, line.strip()))
            continue
        dims = tensor_dims(types[0])
        if dims is None:
            continue  # unranked: nothing static to fold
        static = (shape_is_static(line, dims) if op == 'tessel.shape'
                  else all(d is not None for d in dims))
        if static:
            what = ('reads only static dims' if op == 'tessel.shape'
                    else 'has a fully static operand')
            failures.append('%s:%d: %s %s (%s); it should have been folded:\n  %s'
                            % (args.file, lineno, op, what, types[0],
                               line.strip()))

    if not counts:
        print('check_ir: error: no operations found in %s (empty or not MLIR?)'
              % args.file, file=sys.stderr)
        return 2

    for op, want in expected.items():
        got = counts.get(op, 0)
        if got != want:
            failures.append('%s: expected %d %s op(s), found %d'
                            % (args.file, want, op, got))

    if failures:
        for msg in failures:
            print('check_ir: FAIL: ' + msg, file=sys.stderr)
        print('check_ir: %d check(s) failed' % len(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
