//===- Manifest.h - The model.so manifest -----------------------*- C++ -*-===//
//
// The text record `tessel_model_manifest` of a model.so (docs/model-abi.md,
// "Manifest"), parsed.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_RUNTIME_MANIFEST_H
#define TESSEL_RUNTIME_MANIFEST_H

#include "runtime/Error.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessel::rt {

/// One `input` or `output` record.
struct TensorSpec {
  std::string name; // unescaped
  tessel_dtype dtype = TESSEL_DTYPE_INVALID;
  std::vector<int64_t> dims; // -1 = dynamic
};

/// An extra entry point of the model (`entry` records), exported as
/// `tessel_model_entry_<name>` with the calling convention of
/// `tessel_model_run`.
struct EntrySpec {
  std::string name;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

/// The paged KV cache a model with prefill/decode entries needs
/// (`kv-cache <layers> <kv_heads> <head_dim> <dtype> <window_left>`).
struct KvCacheSpec {
  int64_t layers = 0;
  int64_t kvHeads = 0;
  int64_t headDim = 0;
  tessel_dtype dtype = TESSEL_DTYPE_INVALID;
  int64_t windowLeft = -1; // -1: every earlier token is visible
};

struct Manifest {
  uint32_t version = 0;
  std::string target;
  std::string weightsFile; // unescaped; empty when the model has none (`-`)
  uint64_t weightsSize = 0;
  uint64_t weightsChecksum = 0;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::vector<EntrySpec> entries;
  bool hasKvCache = false;
  KvCacheSpec kvCache;

  const EntrySpec *entry(std::string_view name) const {
    for (const EntrySpec &e : entries)
      if (e.name == name)
        return &e;
    return nullptr;
  }
};

/// Parses `text`. Errors are TESSEL_ABI_MISMATCH (the model is a tessel model
/// but its manifest is not one this runtime understands); their messages
/// give the line number and say what is wrong, and start with `what` (e.g.
/// "the manifest of 'model.so'").
Error parseManifest(std::string_view text, const std::string &what,
                    Manifest &out);

/// `%XX` escapes decoded; false on a malformed escape.
bool unescapeName(std::string_view escaped, std::string &out);

/// `[?, 16, 256]`: -1 printed as `?`.
std::string formatShape(const std::vector<int64_t> &dims);
std::string formatShape(const int64_t *dims, size_t rank);

} // namespace tessel::rt

#endif // TESSEL_RUNTIME_MANIFEST_H
