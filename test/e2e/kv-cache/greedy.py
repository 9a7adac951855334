# Generation through the paged KV cache reproduces greedy.json exactly: the
# tokens ONNX Runtime gives by recomputing the whole sequence at every step.
# Every decoder in test/models is compiled with `tesselc --kv-cache` and run
# with `tessel-run --generate` (prefill each prompt, then decode both
# sequences together, one step per token). For tinylm_bytes it also checks:
#   - a forked sequence (--parallel 3: two forks of each prompt after its
#     prefill, copy-on-write when they append) gives the same tokens as the
#     fresh one;
#   - a cache too small for the batch (preemption, then recomputation of the
#     preempted sequence) and tiny blocks (4 tokens) change nothing;
#   - a repeated prompt longer than a block (prefix-cache hit) changes
#     nothing.
#
# Arguments after the work folder go to tesselc (test/e2e/cuda/generate.test
# runs the same checks with --target=cuda on a GPU), except:
#   --prebuilt DIR   use DIR/<model>.so (built elsewhere: bench/gpu's bundle)
#   --approx         fp16/bf16 builds: print how many tokens of each sequence
#                    agree with the f32 greedy tokens instead of requiring
#                    all of them (rounding may flip a near-tie); a run that
#                    fails is still a failure.
#
# RUN: rm -rf %t && mkdir -p %t && %python %s %models %t

import json
import os
import subprocess
import sys

models_dir, work = sys.argv[1], sys.argv[2]
tesselc_flags = sys.argv[3:]
prebuilt = None
if "--prebuilt" in tesselc_flags:
    at = tesselc_flags.index("--prebuilt")
    prebuilt = tesselc_flags[at + 1]
    del tesselc_flags[at:at + 2]
approx = "--approx" in tesselc_flags
if approx:
    tesselc_flags.remove("--approx")
cases = json.load(open(os.path.join(models_dir, "greedy.json")))["cases"]
failures = []
os.makedirs(work, exist_ok=True)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(cmd), p.returncode,
                                                      p.stdout, p.stderr))
    return p


def generate(lib, prompts, new_tokens, *extra):
    spec = ";".join(",".join(str(t) for t in p) for p in prompts)
    p = run(["tessel-run", lib, "--generate", "--prompt-ids", spec,
             "--max-new-tokens", str(new_tokens)] + list(extra))
    return [[int(t) for t in line.split()] for line in p.stdout.splitlines()]


def agreement(got, want):
    """Tokens of each sequence equal to the wanted ones before the first
    difference."""
    same = []
    for g, w in zip(got, want):
        n = 0
        while n < min(len(g), len(w)) and g[n] == w[n]:
            n += 1
        same.append("%d/%d" % (n, len(w)))
    return " ".join(same)


def check(name, got, want):
    if approx:
        print("agree %s: %s" % (name, agreement(got, want)))
    elif got != want:
        failures.append(name)
        print("FAIL %s\n  got  %s\n  want %s" % (name, got, want))
    else:
        print("ok   %s" % name)


for model, case in sorted(cases.items()):
    onnx = os.path.join(models_dir, model + ".onnx")
    if prebuilt:
        lib = os.path.join(prebuilt, model + ".so")
    else:
        lib = os.path.join(work, model + ".so")
        run(["tesselc", onnx, "--kv-cache", "-o", lib] + tesselc_flags)
    prompts, want = case["prompt_ids"], case["greedy"]
    n = case["new_tokens"]
    check(model, generate(lib, prompts, n), want)
    if not model.startswith("tinylm"):
        continue
    # Forks: each prompt's 3 samples must all equal the greedy tokens.
    forked = generate(lib, prompts, n, "--parallel", "3")
    check(model + " forks", forked,
          [want[0], want[0], want[0], want[1], want[1], want[1]])
    # A cache of 6 blocks of 16 tokens cannot hold 2 x 63 tokens: the newer
    # sequence is preempted and recomputed later.
    block_bytes = 2 * 4 * 8 * 32 * 4 * 16  # layers, kv heads, head dim, f32
    check(model + " preempted", generate(lib, prompts, n, "--kv-budget",
                                         str(6 * block_bytes)), want)
    check(model + " 4-token blocks",
          generate(lib, prompts, n, "--block-tokens", "4"), want)
    # The same prompt twice: the second prefill reuses the first's full
    # blocks (15 bytes of prompt = 3 whole blocks of 4 tokens).
    check(model + " shared prefix",
          generate(lib, [prompts[0], prompts[0]], n, "--block-tokens", "4"),
          [want[0], want[0]])

if failures:
    print("%d failure(s): %s" % (len(failures), ", ".join(failures)))
    sys.exit(1)
