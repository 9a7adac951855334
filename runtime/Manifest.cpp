//===- Manifest.cpp - Parse the model.so manifest -------------------------===//
//
// One record per line, fields separated by spaces; unknown record kinds are
// ignored so that newer compilers can add records (docs/model-abi.md).
//
//===----------------------------------------------------------------------===//

#include "runtime/Manifest.h"

#include <cctype>

#include <charconv>
#include <sstream>

using namespace tessel::rt;

namespace {

// Ranks above this are surely a corrupt manifest, not a model.
constexpr int64_t kMaxRank = 64;

std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t')
      ++i;
    if (i > start)
      fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

template <typename T>
bool parseInteger(std::string_view field, T &value, int base = 10) {
  if (field.empty())
    return false;
  const char *end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value, base);
  return ec == std::errc() && ptr == end;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

class Parser {
public:
  Parser(const std::string &what, Manifest &out) : what(what), out(out) {}

  Error parse(std::string_view text) {
    bool sawHeader = false, sawWeights = false;
    size_t lineNo = 0;
    while (!text.empty()) {
      size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text = eol == std::string_view::npos ? std::string_view()
                                           : text.substr(eol + 1);
      ++lineNo;
      if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
      std::vector<std::string_view> fields = splitFields(line);
      if (fields.empty())
        continue;
      std::string_view kind = fields[0];
      if (!sawHeader) {
        if (kind != "tessel-model")
          return fail(lineNo, "the first record must be `tessel-model 1`, "
                              "found `" +
                                  std::string(line) + "`");
        if (Error e = parseHeader(lineNo, fields); e.failed())
          return e;
        sawHeader = true;
        continue;
      }
      Error e;
      if (kind == "tessel-model") {
        e = fail(lineNo, "a second `tessel-model` record");
      } else if (kind == "target") {
        if (fields.size() != 2)
          e = fail(lineNo, "`target` takes one field");
        else
          out.target = std::string(fields[1]);
      } else if (kind == "weights") {
        if (sawWeights)
          e = fail(lineNo, "a second `weights` record");
        else
          e = parseWeights(lineNo, fields);
        sawWeights = true;
      } else if (kind == "input") {
        e = parseTensor(lineNo, fields, out.inputs);
      } else if (kind == "output") {
        e = parseTensor(lineNo, fields, out.outputs);
      } else if (kind == "kv-cache") {
        e = parseKvCache(lineNo, fields);
      } else if (kind == "entry") {
        e = parseEntry(lineNo, fields);
      } else if (kind == "entry-input" || kind == "entry-output") {
        EntrySpec *entry = nullptr;
        std::string name;
        if (fields.size() >= 2 && unescapeName(fields[1], name))
          for (EntrySpec &candidate : out.entries)
            if (candidate.name == name)
              entry = &candidate;
        if (!entry) {
          e = fail(lineNo, "`" + std::string(kind) +
                               "` names no entry declared before it");
        } else {
          std::vector<std::string_view> tensor(fields.begin() + 1,
                                               fields.end());
          tensor[0] = kind;
          e = parseTensor(lineNo, tensor,
                          kind == "entry-input" ? entry->inputs
                                                : entry->outputs);
        }
      }
      // Any other kind: a record of a newer compiler; ignored.
      if (e.failed())
        return e;
    }
    if (!sawHeader)
      return Error::make(TESSEL_ABI_MISMATCH,
                         what + " is empty: it has no `tessel-model` record");
    return Error::success();
  }

private:
  Error fail(size_t lineNo, const std::string &message) {
    return Error::make(TESSEL_ABI_MISMATCH, what + ", line " +
                                                std::to_string(lineNo) + ": " +
                                                message);
  }

  Error parseHeader(size_t lineNo, const std::vector<std::string_view> &f) {
    uint32_t version = 0;
    if (f.size() != 2 || !parseInteger(f[1], version))
      return fail(lineNo, "expected `tessel-model <version>`");
    if (version != TESSEL_MODEL_ABI_VERSION)
      return fail(lineNo, "manifest version " + std::to_string(version) +
                              ", this runtime reads version " +
                              std::to_string(TESSEL_MODEL_ABI_VERSION));
    out.version = version;
    return Error::success();
  }

  Error parseWeights(size_t lineNo, const std::vector<std::string_view> &f) {
    if (f.size() != 4)
      return fail(lineNo, "expected `weights <file> <size> <checksum>`");
    if (!parseInteger(f[2], out.weightsSize))
      return fail(lineNo, "weights size `" + std::string(f[2]) +
                              "` is not a non-negative integer");
    if (f[3].size() > 16 || !parseInteger(f[3], out.weightsChecksum, 16))
      return fail(lineNo, "weights checksum `" + std::string(f[3]) +
                              "` is not a 64-bit hex number");
    if (f[1] == "-") {
      out.weightsFile.clear();
      if (out.weightsSize != 0)
        return fail(lineNo, "no weights file (`-`) but a size of " +
                                std::to_string(out.weightsSize));
      return Error::success();
    }
    if (!unescapeName(f[1], out.weightsFile) || out.weightsFile.empty())
      return fail(lineNo,
                  "malformed weights file name `" + std::string(f[1]) + "`");
    if (out.weightsFile.find('/') != std::string::npos)
      return fail(lineNo, "weights file name `" + out.weightsFile +
                              "` must not contain '/'");
    return Error::success();
  }

  Error parseKvCache(size_t lineNo, const std::vector<std::string_view> &f) {
    if (out.hasKvCache)
      return fail(lineNo, "a second `kv-cache` record");
    KvCacheSpec &kv = out.kvCache;
    if (f.size() != 6 || !parseInteger(f[1], kv.layers) ||
        !parseInteger(f[2], kv.kvHeads) || !parseInteger(f[3], kv.headDim) ||
        !parseInteger(f[5], kv.windowLeft) || kv.layers <= 0 ||
        kv.kvHeads <= 0 || kv.headDim <= 0 || kv.windowLeft < -1)
      return fail(lineNo, "expected `kv-cache <layers> <kv_heads> <head_dim> "
                          "<dtype> <window_left>` with positive sizes");
    kv.dtype = tessel_dtype_from_name(std::string(f[4]).c_str());
    if (kv.dtype == TESSEL_DTYPE_INVALID)
      return fail(lineNo, "kv-cache has unknown dtype `" + std::string(f[4]) +
                              "`");
    out.hasKvCache = true;
    return Error::success();
  }

  Error parseEntry(size_t lineNo, const std::vector<std::string_view> &f) {
    EntrySpec entry;
    if (f.size() != 2 || !unescapeName(f[1], entry.name) ||
        entry.name.empty())
      return fail(lineNo, "expected `entry <name>`");
    for (char c : entry.name)
      if (!std::isalnum((unsigned char)c) && c != '_')
        return fail(lineNo, "entry name '" + entry.name +
                                "' is not an identifier");
    if (out.entry(entry.name))
      return fail(lineNo, "two entries are named '" + entry.name + "'");
    out.entries.push_back(std::move(entry));
    return Error::success();
  }

  Error parseTensor(size_t lineNo, const std::vector<std::string_view> &f,
                    std::vector<TensorSpec> &into) {
    std::string kind(f[0]);
    if (f.size() < 4)
      return fail(lineNo,
                  "expected `" + kind + " <name> <dtype> <rank> <dims...>`");
    TensorSpec spec;
    if (!unescapeName(f[1], spec.name))
      return fail(lineNo,
                  "malformed " + kind + " name `" + std::string(f[1]) + "`");
    spec.dtype = tessel_dtype_from_name(std::string(f[2]).c_str());
    if (spec.dtype == TESSEL_DTYPE_INVALID)
      return fail(lineNo, kind + " '" + spec.name + "' has unknown dtype `" +
                              std::string(f[2]) + "`");
    int64_t rank = -1;
    if (!parseInteger(f[3], rank) || rank < 0 || rank > kMaxRank)
      return fail(lineNo, kind + " '" + spec.name + "' has a bad rank `" +
                              std::string(f[3]) + "`");
    if ((int64_t)f.size() != 4 + rank)
      return fail(lineNo, kind + " '" + spec.name + "' has rank " +
                              std::to_string(rank) + " but " +
                              std::to_string(f.size() - 4) + " dims");
    for (int64_t i = 0; i < rank; ++i) {
      int64_t d = 0;
      if (!parseInteger(f[4 + i], d) || d < -1)
        return fail(lineNo, kind + " '" + spec.name + "' has a bad dim `" +
                                std::string(f[4 + i]) +
                                "` (a dim is >= 0, or -1 when dynamic)");
      spec.dims.push_back(d);
    }
    for (const TensorSpec &other : into)
      if (other.name == spec.name)
        return fail(lineNo, "two " + kind + "s are named '" + spec.name + "'");
    into.push_back(std::move(spec));
    return Error::success();
  }

  const std::string &what;
  Manifest &out;
};

} // namespace

Error tessel::rt::parseManifest(std::string_view text, const std::string &what,
                                Manifest &out) {
  out = Manifest();
  out.target = "cpu";
  return Parser(what, out).parse(text);
}

bool tessel::rt::unescapeName(std::string_view escaped, std::string &out) {
  out.clear();
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '%') {
      out += escaped[i];
      continue;
    }
    if (i + 2 >= escaped.size())
      return false;
    int hi = hexDigit(escaped[i + 1]), lo = hexDigit(escaped[i + 2]);
    if (hi < 0 || lo < 0)
      return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

std::string tessel::rt::formatShape(const int64_t *dims, size_t rank) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < rank; ++i) {
    if (i)
      os << ", ";
    if (dims[i] < 0)
      os << "?";
    else
      os << dims[i];
  }
  os << "]";
  return os.str();
}

std::string tessel::rt::formatShape(const std::vector<int64_t> &dims) {
  return formatShape(dims.data(), dims.size());
}
