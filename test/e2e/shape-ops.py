# Numerics of the shape and data-movement lowerings (ShapeOpsToLinalg,
# GatherScatterToLinalg) end to end: small ONNX models with dynamic dims,
# compiled to model.so and compared with onnxruntime. Shape-like operands
# (reshape shapes, slice bounds, pads, repeats) are graph inputs, so their
# values are only known at run time.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %t
#
# RUN: tesselc %t/reshapes.onnx -o %t/reshapes.so
# RUN: tessel-run %t/reshapes.so --inputs %t/reshapes.in.npz --compare %t/reshapes.ref.npz
# RUN: tesselc %t/movement.onnx -o %t/movement.so
# RUN: tessel-run %t/movement.so --inputs %t/movement.in.npz --compare %t/movement.ref.npz
# RUN: tesselc %t/slices.onnx -o %t/slices.so
# RUN: tessel-run %t/slices.so --inputs %t/slices.in.npz --compare %t/slices.ref.npz
# RUN: tesselc %t/gathers.onnx -o %t/gathers.so
# RUN: tessel-run %t/gathers.so --inputs %t/gathers.in.npz --compare %t/gathers.ref.npz
# RUN: tesselc %t/scatters.onnx -o %t/scatters.so
# RUN: tessel-run %t/scatters.so --inputs %t/scatters.in.npz --compare %t/scatters.ref.npz --atol 1e-6
# RUN: tesselc %t/broadcasts.onnx -o %t/broadcasts.so
# RUN: tessel-run %t/broadcasts.so --inputs %t/broadcasts.in.npz --compare %t/broadcasts.ref.npz
# RUN: tesselc %t/generators.onnx -o %t/generators.so
# RUN: tessel-run %t/generators.so --inputs %t/generators.in.npz --compare %t/generators.ref.npz --atol 1e-6

import numpy as np
from onnx import numpy_helper
from onnx_models import F32, I64, model, node, out_dir, save, tensor, value

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def i64(*values):
    return np.array(values, np.int64)


def dynamic(name, array, static):
    """A graph input with symbolic dims (static ones for 0-D/1-D int64, the
    shape-like operands, and for `static` inputs, so that result ranks are
    known)."""
    if (array.dtype == np.int64 and array.ndim <= 1) or name in static:
        shape = list(array.shape)
    else:
        shape = [f"{name}_{i}" for i in range(array.ndim)]
    elem = F32 if array.dtype == np.float32 else I64
    return value(name, elem, shape)


def case(name, nodes, feeds, outputs, initializers=(), static=(), opset=18):
    """A model of `nodes` with inputs `feeds` and outputs `outputs`
    ((name, elem type)); writes NAME.onnx, NAME.in.npz, NAME.ref.npz."""
    import onnxruntime as ort

    m = model(nodes, [dynamic(k, v, static) for k, v in feeds.items()],
              [value(o, t, None) for o, t in outputs],
              [tensor(k, v) for k, v in initializers], opset=opset)
    session = ort.InferenceSession(m.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    refs = session.run([o for o, _ in outputs], feeds)
    np.savez(out_dir(name + ".in.npz"), **feeds)
    np.savez(out_dir(name + ".ref.npz"),
             **{o: r for (o, _), r in zip(outputs, refs)})
    save(m, out_dir(name + ".onnx"))


x = randn(2, 3, 4)

# Run-time shape (0 copies, -1 infers), constant shapes that become
# expand/collapse_shape, flatten, unsqueeze/squeeze, and a shape chain as
# exporters write it.
case("reshapes", [
    node("Shape", ["x"], ["shape"]),
    node("Size", ["x"], ["size"]),
    node("Reshape", ["x", "s"], ["runtime"]),
    node("Reshape", ["x", "split_last"], ["expanded"]),
    node("Reshape", ["expanded", "merge"], ["collapsed"]),
    node("Flatten", ["x"], ["flat0"], axis=0),
    node("Flatten", ["x"], ["flat2"], axis=2),
    node("Unsqueeze", ["x", "axes"], ["unsq"]),
    node("Squeeze", ["unsq", "axis0"], ["sq"]),
    node("Gather", ["shape", "zero"], ["batch"], axis=0),
    node("Unsqueeze", ["batch", "axis0"], ["batch1"]),
    node("Concat", ["batch1", "minus1"], ["shape2"], axis=0),
    node("Reshape", ["x", "shape2"], ["chain"]),
], {"x": x, "s": i64(0, -1, 2)},
    [("shape", I64), ("size", I64), ("runtime", F32), ("expanded", F32),
     ("collapsed", F32), ("flat0", F32), ("flat2", F32), ("unsq", F32),
     ("sq", F32), ("chain", F32)],
    [("split_last", i64(0, 0, 2, 2)), ("merge", i64(0, -1)),
     ("axes", i64(0, 3)), ("axis0", i64(0)), ("zero", np.array(0, np.int64)),
     ("minus1", i64(-1))])

case("movement", [
    node("Transpose", ["x"], ["t"], perm=[2, 0, 1]),
    node("Concat", ["x", "x2"], ["c"], axis=1),
    node("Split", ["c"], ["p0", "p1"], axis=1, num_outputs=2),
    node("Split", ["x", "sizes"], ["q0", "q1"], axis=2),
], {"x": x, "x2": randn(2, 4, 4)},
    [("t", F32), ("c", F32), ("p0", F32), ("p1", F32), ("q0", F32),
     ("q1", F32)],
    [("sizes", i64(1, 3))])

# Constant positive steps (extract_slice), negative steps and run-time steps
# (generic); negative and out-of-range starts/ends, INT64 bounds.
big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
case("slices", [
    node("Slice", ["x", "st1", "en1", "ax1", "sp1"], ["pos"]),
    node("Slice", ["x", "st2", "en2", "ax2", "sp2"], ["neg"]),
    node("Slice", ["x", "st3", "en3", "ax2", "sp3"], ["rt"]),
], {"x": x, "st1": i64(0, -3), "en1": i64(big, 100), "st2": i64(-1, 3),
    "en2": i64(small, 0), "st3": i64(2, 0), "en3": i64(-100, 4),
    "sp3": i64(-2, 3)},
    [("pos", F32), ("neg", F32), ("rt", F32)],
    [("ax1", i64(0, 2)), ("sp1", i64(1, 2)), ("ax2", i64(1, 2)),
     ("sp2", i64(-1, -2))])

case("gathers", [
    node("Gather", ["x", "gi"], ["g"], axis=1),
    node("GatherElements", ["x", "ei"], ["ge"], axis=2),
    node("GatherND", ["x", "ni"], ["gn"], batch_dims=1),
], {"x": x, "gi": np.array([[0, -1], [2, 1]], np.int64),
    "ei": rng.integers(-4, 4, (2, 3, 2)).astype(np.int64),
    "ni": np.array([[[1, 0], [2, -1]], [[0, 3], [-1, 2]]], np.int64)},
    [("g", F32), ("ge", F32), ("gn", F32)],
    # GatherND's result rank needs the index tuple length.
    static=("ni",))

case("scatters", [
    node("ScatterND", ["x", "si", "su"], ["none"]),
    node("ScatterND", ["x", "ri", "su"], ["add"], reduction="add"),
    node("ScatterND", ["x", "ri", "su"], ["max"], reduction="max"),
    node("ScatterND", ["x", "ei", "eu"], ["elements"], reduction="mul"),
], {"x": x, "si": np.array([[1, 0], [0, 2]], np.int64),
    "ri": np.array([[1, 0], [1, 0]], np.int64), "su": randn(2, 4),
    "ei": np.array([[0, 1, 2], [0, 1, 2], [1, -1, -1]], np.int64),
    "eu": randn(3)},
    [("none", F32), ("add", F32), ("max", F32), ("elements", F32)])

case("broadcasts", [
    node("Expand", ["col", "s3"], ["bcast"]),
    node("Expand", ["m", "s2"], ["same"]),
    node("Tile", ["x", "reps"], ["tiled"]),
], {"col": randn(3, 1), "s3": i64(2, 3, 4), "m": randn(3, 4),
    "s2": i64(3, 1), "x": x, "reps": i64(2, 1, 3)},
    [("bcast", F32), ("same", F32), ("tiled", F32)])

case("generators", [
    node("Range", ["a", "b", "d"], ["ints"]),
    node("Range", ["fa", "fb", "fd"], ["floats"]),
    node("ConstantOfShape", ["s2"], ["filled"],
         value=numpy_helper.from_array(np.array([2.5], np.float32))),
    node("Trilu", ["x", "k"], ["lower"], upper=0),
    node("Trilu", ["x"], ["upper"]),
    node("Pad", ["x", "pads", "pv"], ["padded"]),
], {"a": np.array(10, np.int64), "b": np.array(-3, np.int64),
    "d": np.array(-4, np.int64), "fa": np.array(1, np.float32),
    "fb": np.array(-2, np.float32), "fd": np.array(-0.7, np.float32),
    "s2": i64(2, 3), "x": x, "k": np.array(1, np.int64),
    "pads": i64(1, 0, -1, 0, 2, 1), "pv": np.array(9, np.float32)},
    [("ints", I64), ("floats", F32), ("filled", F32), ("lower", F32),
     ("upper", F32), ("padded", F32)])
