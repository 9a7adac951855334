//===- ModelEmitter.h - model.so + model.weights emission -------*- C++ -*-===//

#ifndef TESSEL_CODEGEN_MODELEMITTER_H
#define TESSEL_CODEGEN_MODELEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::tessel {

/// One input or output of the compiled model, as the manifest records it.
struct TensorSignature {
  std::string name;
  std::string dtype; // f32, i64, bool, ... (docs/model-abi.md)
  llvm::SmallVector<int64_t> dims; // -1 = dynamic
};

/// An extra entry point (tessel-insert-kv-cache's `prefill`/`decode`),
/// exported as `tessel_model_entry_<name>`.
struct EntrySignature {
  std::string name;
  std::vector<TensorSignature> inputs;
  std::vector<TensorSignature> outputs;
};

/// What the model's paged KV cache holds per token and layer.
struct KvCacheSignature {
  int64_t layers = 0;
  int64_t kvHeads = 0;
  int64_t headDim = 0;
  int64_t windowLeft = -1;
  std::string dtype;
};

struct ModelSignature {
  std::vector<TensorSignature> inputs;
  std::vector<TensorSignature> outputs;
  std::vector<EntrySignature> entries;
  std::optional<KvCacheSignature> kvCache;
};

/// Reads @main's signature (names from `tessel.name` attributes). Call it on
/// the tessel IR, before code generation changes types.
FailureOr<ModelSignature> describeModel(ModuleOp module);

/// Marks @main for the C interface the ABI wrapper calls; call before the
/// LLVM lowering.
void prepareEntryPoint(ModuleOp module);

/// Translates the LLVM-dialect `module` to LLVM IR, adds the ABI symbols,
/// optimises at `optLevel` for `cpu` ("native" or an LLVM CPU name such as
/// x86-64-v3), and writes `outputPath` (a shared object) plus
/// the weights file beside it, atomically: on failure neither file is
/// created or changed. Errors go to the module's diagnostic engine.
/// `target` is "cpu" or "cuda" (the host code of a CUDA model, with its
/// kernels as PTX; the manifest says which).
LogicalResult emitModel(ModuleOp module, const ModelSignature &signature,
                        StringRef outputPath, unsigned optLevel,
                        StringRef cpu = "native", StringRef target = "cpu");

/// FNV-1a over little-endian 64-bit words (docs/model-abi.md).
uint64_t weightsChecksum(ArrayRef<char> data);

} // namespace mlir::tessel

#endif // TESSEL_CODEGEN_MODELEMITTER_H
