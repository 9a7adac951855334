"""Small ONNX models for importer tests, built at test time.

    from onnx_models import *
    x = value("x", F32, ["N", 3])
    m = model([node("Relu", ["x"], ["y"])], [x], [value("y", F32, ["N", 3])])
    save(m, out_dir("m.onnx"))

Nothing here validates: tests build malformed models on purpose.
"""

import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

F32, F16, BF16, F64 = (TensorProto.FLOAT, TensorProto.FLOAT16,
                       TensorProto.BFLOAT16, TensorProto.DOUBLE)
I8, U8, I32, I64, BOOL = (TensorProto.INT8, TensorProto.UINT8,
                          TensorProto.INT32, TensorProto.INT64,
                          TensorProto.BOOL)


def out_dir(*parts):
    """A path under the directory given as the script's first argument (%t)."""
    return os.path.join(sys.argv[1], *parts)


def value(name, elem_type, shape):
    """A tensor ValueInfo; string dims become dim_params (`?`), None unranked."""
    return helper.make_tensor_value_info(name, elem_type, shape)


def node(op_type, inputs, outputs, name=None, domain=None, **attrs):
    """A NodeProto; `name` defaults to the first output's name."""
    return helper.make_node(op_type, inputs, outputs,
                            name=outputs[0] if name is None else name,
                            domain=domain, **attrs)


def tensor(name, array, elem_type=None, raw=True, dims=None):
    """An initializer from `array`, as raw_data or in its typed field.

    `elem_type` defaults to the array's dtype (needed for bfloat16, which
    numpy lacks: pass float values and BF16). `dims` overrides the shape
    written into the proto (to make it disagree with the data).
    """
    array = np.asarray(array)
    if elem_type is None:
        elem_type = helper.np_dtype_to_tensor_dtype(array.dtype)
    shape = list(array.shape)
    if raw and elem_type == BF16:
        # numpy has no bfloat16: let onnx round, then move the bits to raw.
        t = helper.make_tensor(name, BF16, shape, array.flatten().tolist())
        t.raw_data = np.asarray(t.int32_data, np.uint16).tobytes()
        del t.int32_data[:]
    elif raw:
        t = numpy_helper.from_array(array.astype(
            helper.tensor_dtype_to_np_dtype(elem_type)), name)
    else:
        # make_tensor puts f16/bf16 bit patterns, int8/uint8/bool in int32_data.
        t = helper.make_tensor(name, elem_type, shape, array.flatten().tolist())
    if dims is not None:
        del t.dims[:]
        t.dims.extend(dims)
    return t


def model(nodes, inputs, outputs, initializers=(), opset=17, domains=()):
    """A ModelProto of one graph; `domains` adds (domain, version) imports."""
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    opsets = [helper.make_opsetid("", opset)]
    opsets += [helper.make_opsetid(d, v) for d, v in domains]
    # A fixed ir_version: tessel does not read it, and onnx's default would
    # change with the installed onnx release.
    return helper.make_model(graph, opset_imports=opsets, ir_version=8)


def save(m, path):
    """Serialises `m` as is (no checker, no shape inference)."""
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def make_external(t, location, offset=0, length=None, data=None, folder=None):
    """Moves the data of initializer `t` to external file `location`.

    The bytes (`data`, or `t`'s raw data) are written at `offset` of
    `folder/location` (the file is created or extended as needed; with
    folder=None nothing is written). `length` is recorded only when given.
    """
    payload = t.raw_data if data is None else data
    if folder is not None:
        path = os.path.join(folder, location)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        mode = "r+b" if os.path.exists(path) else "wb"
        with open(path, mode) as f:
            f.seek(offset)
            f.write(payload)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    entries = {"location": location, "offset": str(offset)}
    if length is not None:
        entries["length"] = str(length)
    for key, val in entries.items():
        e = t.external_data.add()
        e.key, e.value = key, val
    return t


def write_bytes(path, data):
    """Writes raw bytes (random, truncated, empty) as a "model"."""
    with open(path, "wb") as f:
        f.write(data)
    return path


def simple_model(opset=17, **kw):
    """y = Relu(x), x: [2, 3] f32: a valid model to corrupt or re-opset."""
    return model([node("Relu", ["x"], ["y"], name="relu")],
                 [value("x", F32, [2, 3])], [value("y", F32, [2, 3])],
                 opset=opset, **kw)
