"""Writes the .npz files the tessel-run tests feed to the fake models.

    make_npz.py OUT CASE

CASE names the file's content; see CASES below. Test-only: uses numpy.
"""
import io
import sys
import zipfile

import numpy as np

X = np.arange(8, dtype=np.float32).reshape(2, 4) / 4
W = np.array([1, 2, 3, 4], dtype=np.float32)
IDS = np.array([[5, 6, 7]], dtype=np.int64)


def savez(path, compressed=False, **arrays):
    with open(path, "wb") as f:
        (np.savez_compressed if compressed else np.savez)(f, **arrays)


def npy_bytes(array, version):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=version)
    return buf.getvalue()


def with_nan(a):
    a = a.copy()
    a[0, 1] = np.nan
    return a


def wrong(a):
    a = a.copy()
    a[1, 2] += 0.5
    return a


CASES = {
    "in": lambda p: savez(p, x=X),
    "in-compressed": lambda p: savez(p, compressed=True, x=X),
    "in-extra": lambda p: savez(p, x=X, z=np.zeros(3)),
    "in-missing": lambda p: savez(p, z=X),
    "in-f64": lambda p: savez(p, x=X.astype(np.float64)),
    "in-shape": lambda p: savez(p, x=np.zeros((2, 3), np.float32)),
    "in-fortran": lambda p: savez(p, x=np.asfortranarray(X)),
    "in-big-endian": lambda p: savez(p, x=X.astype(">f4")),
    "in-nan": lambda p: savez(p, x=with_nan(X)),
    "ref": lambda p: savez(p, y=X + 1, unrelated=np.ones(2)),
    "ref-nan": lambda p: savez(p, y=with_nan(X) + 1),
    "ref-wrong": lambda p: savez(p, y=wrong(X + 1)),
    "ref-shape": lambda p: savez(p, y=np.ones((2, 5), np.float32)),
    "ref-none": lambda p: savez(p, out=X + 1),
    "weighted-in": lambda p: savez(p, ids=IDS, x=X),
    "weighted-ref": lambda p: savez(p, y=X + W, n=np.array(IDS.sum()),
                                   t=np.ascontiguousarray((X + W).T)),
}


def write_versions(path):
    # One member per .npy format version NumPy writes: 1.0, 2.0 and 3.0.
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x.npy", npy_bytes(X, (2, 0)))
        z.writestr("v1.npy", npy_bytes(X, (1, 0)))
        z.writestr("v3.npy", npy_bytes(X, (3, 0)))


def write_truncated(path):
    buf = io.BytesIO()
    np.savez(buf, x=X)
    data = buf.getvalue()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def write_bad_crc(path):
    buf = io.BytesIO()
    np.savez(buf, x=X)
    data = bytearray(buf.getvalue())
    data[200] ^= 0xFF  # inside x.npy's data (the member starts at 0)
    with open(path, "wb") as f:
        f.write(bytes(data))


CASES["in-versions"] = write_versions
CASES["truncated"] = write_truncated
CASES["bad-crc"] = write_bad_crc
CASES["not-zip"] = lambda p: open(p, "w").write("not a zip archive\n")


def main():
    out, case = sys.argv[1], sys.argv[2]
    CASES[case](out)


if __name__ == "__main__":
    main()
