//===- Passes.h - tessel code generation passes -----------------*- C++ -*-===//

#ifndef TESSEL_CODEGEN_PASSES_H
#define TESSEL_CODEGEN_PASSES_H

#include "dialect/TesselOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::tessel {

#define GEN_PASS_DECL
#include "codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/Passes.h.inc"

/// Name of the module attribute listing outlined weights.
constexpr llvm::StringLiteral kWeightsAttrName = "tessel.weights";
/// Weight offsets in model.weights are multiples of this.
constexpr int64_t kWeightAlignment = 64;

} // namespace mlir::tessel

#endif // TESSEL_CODEGEN_PASSES_H
