//===- OnnxImporter.h - ONNX ModelProto to tessel IR ------------*- C++ -*-===//

#ifndef TESSEL_FRONTEND_ONNXIMPORTER_H
#define TESSEL_FRONTEND_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::tessel {

/// Opsets of the default ONNX domain that the importer accepts.
constexpr int kMinOpset = 13;
constexpr int kMaxOpset = 23;

/// Imports the ONNX model file at `path` into a module holding
/// `func.func @main`. Every error is reported through the context's
/// diagnostic engine, names the file and, where there is one, the node (name,
/// op type, opset); the result is then null. Weights become blob resources;
/// external-data files are memory-mapped.
OwningOpRef<ModuleOp> importOnnxFile(MLIRContext *context, StringRef path);

/// One row of the supported-ops table: ONNX op `opType` as defined since
/// opset `sinceVersion`, imported as `tesselOp` (with a note on what
/// changed at that version).
struct SupportedOnnxOp {
  StringRef opType;
  int sinceVersion;
  StringRef tesselOp;
  StringRef note;
};

/// Every (op, since-version) the importer handles, sorted by op then version.
ArrayRef<SupportedOnnxOp> getSupportedOnnxOps();

/// The table above as Markdown (docs/supported-ops.md is generated from it).
std::string renderSupportedOpsMarkdown();

} // namespace mlir::tessel

#endif // TESSEL_FRONTEND_ONNXIMPORTER_H
