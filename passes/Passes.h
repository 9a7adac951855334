//===- Passes.h - tessel graph passes ---------------------------*- C++ -*-===//

#ifndef TESSEL_PASSES_PASSES_H
#define TESSEL_PASSES_PASSES_H

#include "dialect/TesselOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir::tessel {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Refines `op`'s result types with what it infers now; true if any changed.
bool refineResultTypes(Operation *op);

/// Makes `func`'s result types match the types its return op returns.
void updateFunctionResultTypes(func::FuncOp func);

} // namespace mlir::tessel

#endif // TESSEL_PASSES_PASSES_H
