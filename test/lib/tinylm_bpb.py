#!/usr/bin/env python3
"""Bits per byte of the trained byte-level model, run through a compiled
model.so with tessel-run (or through ONNX Runtime with --ort, for reference).

The validation windows follow test/models/tinylm_bytes.json: the text is the
concatenation (file bytes + b"\\n") of every *.txt under the python3.11-doc
sources whose index in the bytewise-sorted list is divisible by 20; window j
(j = 0..255) is 257 bytes at offset 256*j; the model sees bytes 0..255 and is
scored on predicting bytes 1..256.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

SOURCES = "/usr/share/doc/python3.11/html/_sources"


def validation_windows(root=SOURCES):
    files = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(".txt"):
                files.append(os.path.relpath(os.path.join(dirpath, name), root))
    if not files:
        sys.exit(f"error: no *.txt under {root} (install python3.11-doc)")
    files.sort(key=lambda p: p.encode())
    text = b"".join(open(os.path.join(root, p), "rb").read() + b"\n"
                    for i, p in enumerate(files) if i % 20 == 0)
    windows = np.stack([np.frombuffer(text[256 * j:256 * j + 257], np.uint8)
                        for j in range(256)]).astype(np.int64)
    return len(text), windows


def cross_entropy(logits, targets):
    logits = logits.astype(np.float64)
    top = logits.max(-1, keepdims=True)
    logsumexp = np.log(np.exp(logits - top).sum(-1)) + top[..., 0]
    picked = np.take_along_axis(logits, targets[..., None], -1)[..., 0]
    return logsumexp - picked


def run_tessel(model, tessel_run, inputs, workdir):
    path_in = os.path.join(workdir, "in.npz")
    path_out = os.path.join(workdir, "out.npz")
    np.savez(path_in, **inputs)
    subprocess.run([tessel_run, model, "--inputs", path_in, "--outputs",
                    path_out], check=True, stdout=subprocess.DEVNULL)
    with np.load(path_out) as out:
        return out[list(out.keys())[0]]


def run_ort(model, inputs, session=[]):
    import onnxruntime as ort
    if not session:
        session.append(ort.InferenceSession(model,
                                            providers=["CPUExecutionProvider"]))
    return session[0].run(None, inputs)[0]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("model", help="model.so (or model.onnx with --ort)")
    p.add_argument("--tessel-run", default="tessel-run")
    p.add_argument("--ort", action="store_true")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--expect", type=float)
    p.add_argument("--tolerance", type=float, default=0.0005)
    args = p.parse_args()

    size, windows = validation_windows()
    total, count = 0.0, 0
    with tempfile.TemporaryDirectory() as workdir:
        for start in range(0, len(windows), args.batch):
            batch = windows[start:start + args.batch]
            inputs = {"input_ids": batch[:, :256],
                      "attention_mask": np.ones_like(batch[:, :256])}
            logits = (run_ort(args.model, inputs) if args.ort else
                      run_tessel(args.model, args.tessel_run, inputs, workdir))
            ce = cross_entropy(logits, batch[:, 1:])
            total += ce.sum()
            count += ce.size
    bpb = total / count / math.log(2)
    print(f"validation text: {size} bytes; {len(windows)} windows; "
          f"bits per byte = {bpb:.6f}")
    if args.expect is not None and abs(bpb - args.expect) > args.tolerance:
        print(f"FAIL: expected {args.expect} +- {args.tolerance}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
