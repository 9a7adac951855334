//===- tessel-run.cpp - Run, compare and benchmark a compiled model -------===//
//
//   tessel-run OUT.so --inputs IN.npz [--outputs OUT.npz]
//              [--compare REF.npz [--rtol R] [--atol A]] [--bench N]
//
// Loads the model with libtessel_rt, feeds it the arrays of IN.npz whose
// names are its inputs (no dtype is ever cast), runs it, and optionally
// writes the outputs, compares them with a reference (NumPy's allclose rule
// per element: |out - ref| <= atol + rtol * |ref|) and times it. Every
// failure is a message on stderr and a non-zero exit status.
//
//===----------------------------------------------------------------------===//

#include "tessel/runtime.h"
#include "tools/tessel-run/Generate.h"
#include "tools/tessel-run/Npz.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <signal.h>
#include <unistd.h>

using namespace tessel;

namespace {

constexpr int kExitMismatch = 1;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kWarmupRuns = 3;

void error(const std::string &message) {
  std::fprintf(stderr, "tessel-run: error: %s\n", message.c_str());
}
void note(const std::string &message) {
  std::fprintf(stderr, "tessel-run: note: %s\n", message.c_str());
}
void warning(const std::string &message) {
  std::fprintf(stderr, "tessel-run: warning: %s\n", message.c_str());
}

const char *kUsage =
    "usage: tessel-run MODEL.so --inputs IN.npz [--outputs OUT.npz]\n"
    "                  [--compare REF.npz [--rtol R] [--atol A]] [--bench N]\n"
    "\n"
    "  --inputs IN.npz     arrays named like the model's inputs (extra arrays\n"
    "                      are ignored); dtypes must match exactly\n"
    "  --outputs OUT.npz   write the outputs, one array per output name\n"
    "  --compare REF.npz   compare every output whose name is an array of\n"
    "                      REF.npz: |out - ref| <= atol + rtol * |ref|\n"
    "  --rtol R            relative tolerance (default 1e-05, as numpy)\n"
    "  --atol A            absolute tolerance (default 1e-08, as numpy)\n"
    "  --bench N           3 warm-up runs, then N timed runs: median and min\n"
    "\n"
    "       tessel-run MODEL.so --generate --prompt-ids 1,2,3[;4,5,6]\n"
    "                  [--max-new-tokens N] [--temperature T] [--top-k K]\n"
    "                  [--top-p P] [--seed S] [--parallel K] [--eos ID]\n"
    "                  [--block-tokens N] [--kv-budget BYTES] [--bench N]\n"
    "\n"
    "  --generate          generate with a `tesselc --kv-cache` model: prints\n"
    "                      each sequence's new token ids on one line\n"
    "  --prompt-ids P      prompts: comma-separated ids, ';' between prompts\n"
    "  --max-new-tokens N  tokens to generate per sequence (default 16)\n"
    "  --temperature T     0 (default): greedy; else sample softmax(logits/T)\n"
    "  --top-k K, --top-p P  restrict sampling to the K most likely tokens /\n"
    "                      the smallest set of probability >= P\n"
    "  --seed S            sampling seed (default 0)\n"
    "  --parallel K        K samples per prompt, forked after its prefill\n"
    "  --eos ID            a sequence stops after generating ID\n"
    "  --block-tokens N    tokens per KV cache block (default 16)\n"
    "  --kv-budget BYTES   KV cache size (default 64 MiB; CUDA models: half of\n"
    "                      the GPU's free memory)\n"
    "  --bench N           with --generate: N timed generations, tokens/s\n";

struct Options {
  std::string model;
  std::string inputs, outputs, compare;
  double rtol = 1e-5, atol = 1e-8;
  bool rtolSet = false, atolSet = false;
  long bench = 0;
  bool generate = false;
  std::string promptIds;
  generation::GenerateOptions generation;
};

bool parseDouble(const std::string &text, double &value) {
  char *end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return !text.empty() && end && *end == '\0' && errno == 0 &&
         std::isfinite(value);
}

bool parseLong(const std::string &text, long &value) {
  char *end = nullptr;
  errno = 0;
  value = std::strtol(text.c_str(), &end, 10);
  return !text.empty() && end && *end == '\0' && errno == 0;
}

/// Parses argv; returns an exit status to stop with, or nullopt to go on.
std::optional<int> parseArgs(int argc, char **argv, Options &o) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0 || arg == "--") {
      if (arg == "--") {
        for (++i; i < argc; ++i)
          positional.push_back(argv[i]);
        break;
      }
      if (arg.size() > 1 && arg[0] == '-') {
        error("unknown option '" + arg + "'");
        std::fputs(kUsage, stderr);
        return kExitUsage;
      }
      positional.push_back(arg);
      continue;
    }
    std::string name = arg, value;
    bool hasValue = false;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      hasValue = true;
    }
    if (name == "--generate" && !hasValue) {
      o.generate = true;
      continue;
    }
    static const char *kValued[] = {
        "--inputs",      "--outputs",        "--compare",   "--rtol",
        "--atol",        "--bench",          "--prompt-ids", "--max-new-tokens",
        "--temperature", "--top-k",          "--top-p",     "--seed",
        "--parallel",    "--eos",            "--block-tokens", "--kv-budget"};
    if (std::find_if(std::begin(kValued), std::end(kValued),
                     [&](const char *k) { return name == k; }) ==
        std::end(kValued)) {
      error("unknown option '" + name + "'");
      std::fputs(kUsage, stderr);
      return kExitUsage;
    }
    if (!hasValue) {
      if (i + 1 >= argc) {
        error("option '" + name + "' needs a value");
        return kExitUsage;
      }
      value = argv[++i];
    }
    if (name == "--inputs") {
      o.inputs = value;
    } else if (name == "--outputs") {
      o.outputs = value;
    } else if (name == "--compare") {
      o.compare = value;
    } else if (name == "--rtol" || name == "--atol") {
      double v;
      if (!parseDouble(value, v) || v < 0) {
        error(name + " must be a non-negative number, not '" + value + "'");
        return kExitUsage;
      }
      (name == "--rtol" ? o.rtol : o.atol) = v;
      (name == "--rtol" ? o.rtolSet : o.atolSet) = true;
    } else if (name == "--bench") {
      if (!parseLong(value, o.bench) || o.bench < 1) {
        error("--bench must be a positive number of runs, not '" + value + "'");
        return kExitUsage;
      }
    } else if (name == "--prompt-ids") {
      o.promptIds = value;
    } else if (name == "--temperature" || name == "--top-p") {
      double v;
      if (!parseDouble(value, v) || v < 0) {
        error(name + " must be a non-negative number, not '" + value + "'");
        return kExitUsage;
      }
      (name == "--temperature" ? o.generation.sampling.temperature
                               : o.generation.sampling.top_p) = (float)v;
    } else {
      // The integer options of --generate.
      long v;
      long min = name == "--eos" ? -1 : name == "--top-k" || name == "--seed" ||
                                                name == "--max-new-tokens"
                                            ? 0
                                            : 1;
      if (!parseLong(value, v) || v < min) {
        error(name + " must be an integer >= " + std::to_string(min) +
              ", not '" + value + "'");
        return kExitUsage;
      }
      if (name == "--max-new-tokens")
        o.generation.maxNewTokens = v;
      else if (name == "--top-k")
        o.generation.sampling.top_k = (int32_t)v;
      else if (name == "--seed")
        o.generation.sampling.seed = (uint64_t)v;
      else if (name == "--parallel")
        o.generation.parallel = v;
      else if (name == "--eos")
        o.generation.eos = v;
      else if (name == "--block-tokens")
        o.generation.blockTokens = v;
      else if (name == "--kv-budget")
        o.generation.budgetBytes = (uint64_t)v;
    }
  }
  if (positional.size() != 1) {
    error(positional.empty() ? "no model given"
                             : "more than one model given ('" + positional[0] +
                                   "', '" + positional[1] + "')");
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  o.model = positional[0];
  if (o.generate) {
    if (!o.inputs.empty() || !o.outputs.empty() || !o.compare.empty()) {
      error("--generate takes --prompt-ids, not --inputs/--outputs/--compare");
      return kExitUsage;
    }
    std::string why;
    if (o.promptIds.empty()) {
      error("--generate needs --prompt-ids (e.g. --prompt-ids 1,2,3;4,5)");
      return kExitUsage;
    }
    if (!generation::parsePromptIds(o.promptIds, o.generation.prompts, why)) {
      error("--prompt-ids: " + why);
      return kExitUsage;
    }
    o.generation.bench = o.bench;
    return std::nullopt;
  }
  if (!o.promptIds.empty())
    warning("--prompt-ids is used only with --generate");
  if ((o.rtolSet || o.atolSet) && o.compare.empty())
    warning("--rtol/--atol are used only with --compare");
  return std::nullopt;
}

std::string shapeString(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i)
      s += ", ";
    s += dims[i] < 0 ? "?" : std::to_string(dims[i]);
  }
  return s + "]";
}

std::string describe(tessel_dtype dtype, const std::vector<int64_t> &dims) {
  return std::string(tessel_dtype_name(dtype)) + " " + shapeString(dims);
}

std::vector<int64_t> tensorDims(const tessel_tensor *t) {
  const int64_t *d = tessel_tensor_dims(t);
  int32_t rank = tessel_tensor_rank(t);
  return d ? std::vector<int64_t>(d, d + rank) : std::vector<int64_t>();
}

std::string plural(size_t n, const char *one, const char *many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

/// Owns the tensors of one run.
struct Tensors {
  std::vector<tessel_tensor *> list;
  Tensors() = default;
  explicit Tensors(size_t n) : list(n, nullptr) {}
  Tensors(const Tensors &) = delete;
  Tensors &operator=(const Tensors &) = delete;
  ~Tensors() { clear(); }
  void clear() {
    for (tessel_tensor *t : list)
      tessel_tensor_free(t);
    std::fill(list.begin(), list.end(), nullptr);
  }
};

struct ModelHandle {
  tessel_model *model = nullptr;
  ~ModelHandle() { tessel_model_free(model); }
};

std::vector<tessel_tensor_info> infos(const tessel_model *model, bool inputs) {
  size_t n = inputs ? tessel_model_input_count(model)
                    : tessel_model_output_count(model);
  std::vector<tessel_tensor_info> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (inputs)
      tessel_model_input_info(model, i, &out[i]);
    else
      tessel_model_output_info(model, i, &out[i]);
  }
  return out;
}

std::vector<int64_t> infoDims(const tessel_tensor_info &info) {
  return info.dims ? std::vector<int64_t>(info.dims, info.dims + info.rank)
                   : std::vector<int64_t>();
}

//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

bool buildInputs(const tessel_model *model, const std::string &path,
                 Tensors &inputs) {
  std::vector<tessel_tensor_info> specs = infos(model, /*inputs=*/true);
  std::vector<npz::Array> arrays;
  if (!path.empty()) {
    std::string why;
    if (!npz::readNpz(path, arrays, why)) {
      error(why);
      return false;
    }
  } else if (!specs.empty()) {
    error("the model takes " + plural(specs.size(), "input", "inputs") +
          " (first: '" + specs[0].name + "'); give them with --inputs IN.npz");
    return false;
  }
  for (const npz::Array &a : arrays) {
    bool used = std::any_of(
        specs.begin(), specs.end(),
        [&](const tessel_tensor_info &s) { return a.name == s.name; });
    if (!used)
      note("'" + path + "' has array '" + npz::printable(a.name) +
           "', which is not an input of the model: ignored");
  }
  inputs.list.assign(specs.size(), nullptr);
  for (size_t i = 0; i < specs.size(); ++i) {
    const tessel_tensor_info &spec = specs[i];
    auto it =
        std::find_if(arrays.begin(), arrays.end(),
                     [&](const npz::Array &a) { return a.name == spec.name; });
    std::string expected = describe(spec.dtype, infoDims(spec));
    if (it == arrays.end()) {
      std::string keys;
      for (const npz::Array &a : arrays)
        keys += (keys.empty() ? "'" : ", '") + npz::printable(a.name) + "'";
      error(std::string("input '") + spec.name + "' (" + expected +
            ") is missing from '" + path + "' (it holds " +
            (keys.empty() ? "no arrays" : keys) + ")");
      return false;
    }
    if (it->dtype != spec.dtype) {
      error(std::string("input '") + spec.name + "': '" + path + "' holds " +
            npz::numpyName(it->dtype) + " ('" + npz::printable(it->descr) +
            "'), but the model expects " + tessel_dtype_name(spec.dtype) +
            " (" + npz::numpyName(spec.dtype) +
            "); tessel-run casts nothing: save the array as " +
            npz::numpyName(spec.dtype));
      return false;
    }
    tessel_status s = tessel_tensor_create(it->dtype, (int32_t)it->shape.size(),
                                           it->shape.data(), &inputs.list[i]);
    if (s != TESSEL_OK) {
      error(std::string("input '") + spec.name + "': " + tessel_last_error());
      return false;
    }
    std::memcpy(tessel_tensor_data(inputs.list[i]), it->data.data(),
                it->data.size());
    std::printf("  input %s: %s from '%s'\n", spec.name,
                describe(it->dtype, it->shape).c_str(), path.c_str());
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Comparing
//===----------------------------------------------------------------------===//

float halfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: normalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

double element(const void *data, tessel_dtype dtype, size_t i) {
  auto load = [&](auto tag) {
    decltype(tag) v;
    std::memcpy(&v, static_cast<const char *>(data) + i * sizeof(v), sizeof(v));
    return v;
  };
  switch (dtype) {
  case TESSEL_DTYPE_F32:
    return load(float());
  case TESSEL_DTYPE_F64:
    return load(double());
  case TESSEL_DTYPE_F16:
    return halfToFloat(load(uint16_t()));
  case TESSEL_DTYPE_BF16: {
    uint32_t bits = (uint32_t)load(uint16_t()) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  case TESSEL_DTYPE_I8:
    return load(int8_t());
  case TESSEL_DTYPE_I16:
    return load(int16_t());
  case TESSEL_DTYPE_I32:
    return load(int32_t());
  case TESSEL_DTYPE_I64:
    return (double)load(int64_t());
  case TESSEL_DTYPE_U8:
    return load(uint8_t());
  case TESSEL_DTYPE_U16:
    return load(uint16_t());
  case TESSEL_DTYPE_U32:
    return load(uint32_t());
  case TESSEL_DTYPE_U64:
    return (double)load(uint64_t());
  case TESSEL_DTYPE_BOOL:
    return load(uint8_t()) != 0;
  case TESSEL_DTYPE_INVALID:
    break;
  }
  return std::nan("");
}

std::string indexString(size_t flat, const std::vector<int64_t> &dims) {
  std::vector<int64_t> index(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    index[i] = dims[i] ? (int64_t)(flat % (size_t)dims[i]) : 0;
    flat = dims[i] ? flat / (size_t)dims[i] : 0;
  }
  return shapeString(index);
}

/// Compares one output with its reference; prints its line; true if it
/// matches.
bool compareOne(const char *name, const tessel_tensor *out,
                const npz::Array &ref, double rtol, double atol) {
  std::vector<int64_t> dims = tensorDims(out);
  tessel_dtype dtype = tessel_tensor_dtype(out);
  if (dims != ref.shape) {
    std::printf("%s: shape %s differs from the reference's %s MISMATCH\n", name,
                shapeString(dims).c_str(), shapeString(ref.shape).c_str());
    return false;
  }
  if (dtype != ref.dtype)
    note("output '" + std::string(name) + "' is " + tessel_dtype_name(dtype) +
         ", its reference " + npz::numpyName(ref.dtype) +
         ": compared as numbers");
  const void *a = tessel_tensor_data(out);
  const void *b = ref.data.data();
  size_t n = tessel_tensor_element_count(out);
  double maxAbs = 0, maxRel = 0;
  size_t bad = 0, firstBad = 0;
  double badGot = 0, badWant = 0;
  for (size_t i = 0; i < n; ++i) {
    double x = element(a, dtype, i), y = element(b, ref.dtype, i);
    bool ok;
    double abs = 0, rel = 0;
    if (std::isnan(x) || std::isnan(y)) {
      ok = std::isnan(x) && std::isnan(y);
      abs = rel = ok ? 0 : INFINITY;
    } else if (std::isinf(x) || std::isinf(y)) {
      ok = x == y;
      abs = rel = ok ? 0 : INFINITY;
    } else {
      abs = std::fabs(x - y);
      rel = y != 0 ? abs / std::fabs(y) : (abs == 0 ? 0 : INFINITY);
      ok = abs <= atol + rtol * std::fabs(y);
    }
    maxAbs = std::max(maxAbs, abs);
    maxRel = std::max(maxRel, rel);
    if (!ok) {
      if (bad == 0) {
        firstBad = i;
        badGot = x;
        badWant = y;
      }
      ++bad;
    }
  }
  std::printf("%s: max_abs_err=%.6g max_rel_err=%.6g (%zu elements) %s\n", name,
              maxAbs, maxRel, n, bad ? "MISMATCH" : "OK");
  if (bad)
    std::printf("  %zu of %zu elements exceed atol + rtol * |ref|; the first "
                "at %s: got %.9g, reference %.9g\n",
                bad, n, indexString(firstBad, dims).c_str(), badGot, badWant);
  return bad == 0;
}

/// Compares every output named in REF.npz; false if any differs or none was
/// compared (or REF cannot be read).
bool compareOutputs(const tessel_model *model, const Tensors &outputs,
                    const Options &o) {
  std::vector<npz::Array> refs;
  std::string why;
  if (!npz::readNpz(o.compare, refs, why)) {
    error(why);
    return false;
  }
  std::vector<tessel_tensor_info> specs = infos(model, /*inputs=*/false);
  std::printf("comparing with '%s' (rtol=%g, atol=%g):\n", o.compare.c_str(),
              o.rtol, o.atol);
  size_t compared = 0;
  bool allMatch = true;
  std::string skipped;
  for (size_t i = 0; i < specs.size(); ++i) {
    auto it = std::find_if(refs.begin(), refs.end(), [&](const npz::Array &a) {
      return a.name == specs[i].name;
    });
    if (it == refs.end()) {
      skipped +=
          (skipped.empty() ? "'" : ", '") + std::string(specs[i].name) + "'";
      continue;
    }
    ++compared;
    allMatch &= compareOne(specs[i].name, outputs.list[i], *it, o.rtol, o.atol);
  }
  if (!skipped.empty())
    warning("not compared (no array of that name in '" + o.compare +
            "'): " + skipped);
  if (compared == 0) {
    error("no output was compared: '" + o.compare +
          "' has no array named like an output of the model");
    return false;
  }
  if (allMatch && compared == 1)
    std::printf("the compared output matches\n");
  else if (allMatch)
    std::printf("all %zu compared outputs match\n", compared);
  else
    std::printf("MISMATCH: some outputs differ from '%s'\n", o.compare.c_str());
  return allMatch;
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

/// Set while tessel_model_run runs, for the crash message.
volatile sig_atomic_t insideModel = 0;

/// A crash inside the compiled model cannot be recovered from, but it can
/// be explained: say so on stderr, then die of the same signal (so a core
/// dump and the exit status stay what they would have been).
void onFatalSignal(int sig) {
  const char *what = sig == SIGSEGV  ? "SIGSEGV (invalid memory access)"
                     : sig == SIGBUS ? "SIGBUS (bad memory access; was the "
                                       "weights file changed while mapped?)"
                     : sig == SIGILL ? "SIGILL (an instruction this CPU lacks? "
                                       "models are compiled for the CPU of "
                                       "the machine that built them)"
                     : sig == SIGFPE ? "SIGFPE (arithmetic fault)"
                                     : "a fatal signal";
  const char *prefix = insideModel
                           ? "tessel-run: error: the model crashed while "
                             "running: "
                           : "tessel-run: error: tessel-run crashed: ";
  ssize_t ignored = ::write(2, prefix, std::strlen(prefix));
  ignored = ::write(2, what, std::strlen(what));
  ignored = ::write(2, "\n", 1);
  (void)ignored;
  ::raise(sig); // the handler was reset to the default action
}

void installCrashHandlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = onFatalSignal;
  action.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE})
    ::sigaction(sig, &action, nullptr);
}

double millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

bool runOnce(tessel_model *model, const Tensors &inputs, Tensors &outputs,
             double *ms) {
  outputs.clear();
  outputs.list.assign(tessel_model_output_count(model), nullptr);
  auto start = std::chrono::steady_clock::now();
  insideModel = 1;
  tessel_status s =
      tessel_model_run(model, inputs.list.data(), inputs.list.size(),
                       outputs.list.data(), outputs.list.size());
  insideModel = 0;
  if (ms)
    *ms = millisecondsSince(start);
  if (s != TESSEL_OK) {
    error(std::string("running the model failed (") + tessel_status_string(s) +
          "): " + tessel_last_error());
    return false;
  }
  return true;
}

bool writeOutputs(const tessel_model *model, const Tensors &outputs,
                  const std::string &path) {
  std::vector<tessel_tensor_info> specs = infos(model, /*inputs=*/false);
  std::vector<npz::ArrayView> views;
  for (size_t i = 0; i < specs.size(); ++i) {
    npz::ArrayView v;
    v.name = specs[i].name;
    v.dtype = tessel_tensor_dtype(outputs.list[i]);
    v.shape = tensorDims(outputs.list[i]);
    v.data = tessel_tensor_data(outputs.list[i]);
    v.bytes = tessel_tensor_byte_size(outputs.list[i]);
    views.push_back(std::move(v));
  }
  std::string why;
  std::vector<std::string> notes;
  bool ok = npz::writeNpz(path, views, why, notes);
  for (const std::string &n : notes)
    note(n);
  if (!ok) {
    error(why);
    return false;
  }
  std::printf("wrote %s to '%s'\n",
              plural(views.size(), "output", "outputs").c_str(), path.c_str());
  return true;
}

bool bench(tessel_model *model, const Tensors &inputs, long runs) {
  Tensors outputs;
  for (int i = 0; i < kWarmupRuns; ++i)
    if (!runOnce(model, inputs, outputs, nullptr))
      return false;
  std::vector<double> times;
  times.reserve(runs);
  for (long i = 0; i < runs; ++i) {
    double ms;
    if (!runOnce(model, inputs, outputs, &ms))
      return false;
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  size_t n = times.size();
  double median = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  std::printf("benchmark: %d warm-up runs, then %s: median %.3f ms, min "
              "%.3f ms\n",
              kWarmupRuns, plural(n, "timed run", "timed runs").c_str(), median,
              times.front());
  return true;
}

int run(int argc, char **argv) {
  Options o;
  if (std::optional<int> rc = parseArgs(argc, argv, o))
    return *rc;

  ModelHandle handle;
  if (tessel_model_load(o.model.c_str(), &handle.model) != TESSEL_OK) {
    error(tessel_last_error());
    return kExitError;
  }
  tessel_model *model = handle.model;
  if (o.generate)
    return generation::generate(model, o.generation);
  uint64_t weights = tessel_model_weights_size(model);
  std::printf(
      "loaded model '%s' (target %s, %s, %s, %s)\n", o.model.c_str(),
      tessel_model_target(model),
      plural(tessel_model_input_count(model), "input", "inputs").c_str(),
      plural(tessel_model_output_count(model), "output", "outputs").c_str(),
      weights ? (std::to_string(weights) + " bytes of weights, checked").c_str()
              : "no weights file");

  Tensors inputs;
  if (!buildInputs(model, o.inputs, inputs))
    return kExitError;

  Tensors outputs;
  double ms = 0;
  if (!runOnce(model, inputs, outputs, &ms))
    return kExitError;
  std::printf("ran the model once in %.3f ms\n", ms);
  std::vector<tessel_tensor_info> outSpecs = infos(model, /*inputs=*/false);
  for (size_t i = 0; i < outSpecs.size(); ++i)
    std::printf("  output %s: %s\n", outSpecs[i].name,
                describe(tessel_tensor_dtype(outputs.list[i]),
                         tensorDims(outputs.list[i]))
                    .c_str());

  bool ok = true;
  if (!o.outputs.empty() && !writeOutputs(model, outputs, o.outputs))
    return kExitError;
  if (!o.compare.empty())
    ok = compareOutputs(model, outputs, o);
  std::fflush(stdout);
  if (o.bench > 0 && !bench(model, inputs, o.bench))
    return kExitError;
  return ok ? 0 : kExitMismatch;
}

} // namespace

int main(int argc, char **argv) {
  // Keep stdout and stderr lines in order when both go to one log.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  installCrashHandlers();
  try {
    int rc = run(argc, argv);
    std::fflush(stdout);
    return rc;
  } catch (const std::bad_alloc &) {
    error("out of memory");
  } catch (...) {
    error("internal error: unexpected exception");
  }
  return kExitError;
}
