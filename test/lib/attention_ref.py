"""Attention test helpers: the float64 reference of tessel.attention (the
unfused definition in dialect/TesselOps.td), one-node ONNX Attention models,
and runners for tesselc / tessel-run.

    from attention_ref import reference, attention_model, compile_and_run
"""

import os
import subprocess

import numpy as np
from onnx import TensorProto, helper


def reference(q, k, v, mask=None, *, is_causal=False, scale=None, softcap=0.0,
              window_left=-1, window_right=-1, fully_masked_rows="nan",
              q_heads=None, kv_heads=None):
    """softmax(scale * q x k^T (softcap, mask, causal, window)) x v in float64.

    4-D operands are [B, H, S, D]; 3-D ones [B, S, H*D] with q_heads/kv_heads.
    Query head h reads kv head h // (Hq / Hkv). A mask shorter than the keys
    is padded with False / -inf. A row with every key masked is NaN ("nan"),
    0 ("zero") or the mean of v ("uniform", where scores at or below -1e30,
    such as float32 lowest + a score, count as masked).
    """
    three_d = q.ndim == 3
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    if three_d:
        def split(x, h):
            b, s, hd = x.shape
            return x.reshape(b, s, h, hd // h).transpose(0, 2, 1, 3)
        q, k, v = split(q, q_heads), split(k, kv_heads), split(v, kv_heads)
    hq, hkv = q.shape[1], k.shape[1]
    group = hq // hkv
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    sq, skv, d = q.shape[2], k.shape[2], q.shape[3]
    if scale is None:
        scale = 1.0 / np.sqrt(d)
    s = np.einsum("bhid,bhjd->bhij", q, k) * scale
    if softcap > 0:
        s = softcap * np.tanh(s / softcap)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape[-1] < skv:
            pad = [(0, 0)] * (mask.ndim - 1) + [(0, skv - mask.shape[-1])]
            fill = False if mask.dtype == np.bool_ else -np.inf
            mask = np.pad(mask, pad, constant_values=fill)
        if mask.dtype == np.bool_:
            s = np.where(mask, s, -np.inf)
        else:
            s = s + mask.astype(np.float64)
    i = np.arange(sq)[:, None] + (skv - sq)
    j = np.arange(skv)[None, :]
    allowed = np.ones((sq, skv), bool)
    if is_causal:
        allowed &= j <= i
    if window_left >= 0:
        allowed &= j >= i - window_left
    if window_right >= 0:
        allowed &= j <= i + window_right
    s = np.where(allowed, s, -np.inf)
    if fully_masked_rows == "uniform":
        # A huge finite fill (float32 lowest) masks like -inf.
        s = np.where(s <= -1e30, -np.inf, s)
    with np.errstate(invalid="ignore"):
        m = s.max(axis=-1, keepdims=True)
        p = np.exp(s - m)
        p = p / p.sum(axis=-1, keepdims=True)
    if fully_masked_rows == "zero":
        p = np.where(np.isnan(p), 0.0, p)
    elif fully_masked_rows == "uniform":
        p = np.where(np.isnan(p), 1.0 / skv, p)
    y = p @ v
    if three_d:
        b = y.shape[0]
        y = y.transpose(0, 2, 1, 3).reshape(b, sq, -1)
    return y


def attention_model(q_shape, k_shape, v_shape, mask_shape=None,
                    mask_type=TensorProto.BOOL, elem=TensorProto.FLOAT,
                    **attrs):
    """A one-node opset-23 Attention model y = Attention(q, k, v[, m]).

    Shapes may use strings (dynamic dims). ir_version 10 so that tools
    without onnxruntime still load it.
    """
    inputs = [helper.make_tensor_value_info("q", elem, q_shape),
              helper.make_tensor_value_info("k", elem, k_shape),
              helper.make_tensor_value_info("v", elem, v_shape)]
    names = ["q", "k", "v"]
    if mask_shape is not None:
        inputs.append(helper.make_tensor_value_info("m", mask_type, mask_shape))
        names.append("m")
    node = helper.make_node("Attention", names, ["y"], name="y", **attrs)
    graph = helper.make_graph([node], "g", inputs,
                              [helper.make_tensor_value_info("y", elem, None)])
    return helper.make_model(graph,
                             opset_imports=[helper.make_opsetid("", 23)],
                             ir_version=10)


def run_checked(cmd, **kw):
    """Runs `cmd`; raises with its output on failure."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd),
                                                    r.returncode, r.stdout))
    return r.stdout


def compile_and_run(model, feeds, workdir, name, tesselc="tesselc",
                    tessel_run="tessel-run", opt="-O2"):
    """Compiles `model` to workdir/name.so, runs it on `feeds`, returns y."""
    onnx_path = os.path.join(workdir, name + ".onnx")
    with open(onnx_path, "wb") as f:
        f.write(model.SerializeToString())
    so = os.path.join(workdir, name + ".so")
    run_checked([tesselc, onnx_path, opt, "-o", so])
    inputs = os.path.join(workdir, name + ".in.npz")
    outputs = os.path.join(workdir, name + ".out.npz")
    np.savez(inputs, **feeds)
    run_checked([tessel_run, so, "--inputs", inputs, "--outputs", outputs])
    with np.load(outputs) as out:
        return out["y"]


def compare(y, ref, rtol, atol):
    """(ok, message): NaNs exactly where the reference has them, the rest
    within atol + rtol * |ref|."""
    nan_y, nan_ref = np.isnan(y), np.isnan(ref)
    if y.shape != ref.shape:
        return False, "shape %s, expected %s" % (y.shape, ref.shape)
    if (nan_y != nan_ref).any():
        return False, "NaN at %d positions, expected %d (%d differ)" % (
            nan_y.sum(), nan_ref.sum(), (nan_y != nan_ref).sum())
    finite = ~nan_ref
    err = np.abs(y[finite].astype(np.float64) - ref[finite])
    bound = atol + rtol * np.abs(ref[finite])
    bad = err > bound
    worst = float(err.max()) if err.size else 0.0
    if bad.any():
        return False, "%d of %d elements off (max abs err %.3g)" % (
            bad.sum(), err.size, worst)
    return True, "max abs err %.3g, %d NaN rows' elements" % (
        worst, nan_ref.sum())
