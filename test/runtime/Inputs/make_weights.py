"""Writes a tessel weights file (docs/model-abi.md) holding f32 1, 2, 3, 4,
the weights of weighted.c.

    make_weights.py OUT [good|bad-magic|truncated|corrupt]
"""
import struct
import sys

MASK = (1 << 64) - 1


def checksum(data):
    h = 0xcbf29ce484222325
    for i in range(0, len(data), 8):
        w = int.from_bytes(data[i:i + 8].ljust(8, b"\0"), "little")
        h = ((h ^ w) * 0x100000001b3) & MASK
    return h


def main():
    out, kind = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "good"
    data = struct.pack("<4f", 1, 2, 3, 4)
    header = bytearray(4096)
    header[0:8] = b"TSLWGT01" if kind != "bad-magic" else b"NOTWGT01"
    header[8:16] = struct.pack("<Q", len(data))
    header[16:24] = struct.pack("<Q", checksum(data))
    if kind == "truncated":
        data = data[:-4]
    if kind == "corrupt":
        data = data[:-1] + b"\x7f"
    with open(out, "wb") as f:
        f.write(bytes(header) + data)


if __name__ == "__main__":
    main()
