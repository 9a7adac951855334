//===- InferShapes.cpp - refine result types from inference ---------------===//

#include "passes/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELINFERSHAPESPASS
#include "passes/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

/// The most static type compatible with both `declared` and `inferred`, or
/// `declared` when they cannot be merged.
static Type mergeTypes(Type declared, Type inferred) {
  auto d = dyn_cast<TensorType>(declared);
  auto i = dyn_cast<RankedTensorType>(inferred);
  if (!d || !i || d.getElementType() != i.getElementType())
    return declared;
  auto dRanked = dyn_cast<RankedTensorType>(d);
  if (!dRanked)
    return i;
  if (dRanked.getRank() != i.getRank())
    return declared;
  SmallVector<int64_t> dims;
  for (auto [a, b] : llvm::zip(dRanked.getShape(), i.getShape())) {
    if (!ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b)
      return declared;
    dims.push_back(ShapedType::isDynamic(a) ? b : a);
  }
  return RankedTensorType::get(dims, d.getElementType());
}

bool mlir::tessel::refineResultTypes(Operation *op) {
  auto infer = dyn_cast<InferTypeOpInterface>(op);
  if (!infer)
    return false;
  SmallVector<Type> inferred;
  // No location: a failure here is the verifier's to report, not ours.
  if (failed(infer.inferReturnTypes(
          op->getContext(), std::nullopt, op->getOperands(),
          op->getAttrDictionary(), op->getPropertiesStorage(),
          op->getRegions(), inferred)) ||
      inferred.size() != op->getNumResults())
    return false;
  bool changed = false;
  for (auto [result, type] : llvm::zip(op->getResults(), inferred)) {
    Type merged = mergeTypes(result.getType(), type);
    if (merged != result.getType()) {
      result.setType(merged);
      changed = true;
    }
  }
  return changed;
}

void mlir::tessel::updateFunctionResultTypes(func::FuncOp func) {
  if (func.isExternal())
    return;
  auto ret = dyn_cast<func::ReturnOp>(func.getBody().back().getTerminator());
  if (!ret)
    return;
  // Callers would disagree with a changed signature: keep it, and cast the
  // refined values back to the declared types.
  if (auto module = func->getParentOfType<ModuleOp>()) {
    if (!SymbolTable::symbolKnownUseEmpty(func, module)) {
      OpBuilder builder(ret);
      for (auto [operand, declared] :
           llvm::zip(ret->getOpOperands(), func.getResultTypes()))
        if (operand.get().getType() != declared)
          operand.set(builder.create<tensor::CastOp>(ret.getLoc(), declared,
                                                     operand.get()));
      return;
    }
  }
  func.setFunctionType(FunctionType::get(func.getContext(),
                                         func.getArgumentTypes(),
                                         ret.getOperandTypes()));
}

namespace {
struct TesselInferShapesPass
    : tessel::impl::TesselInferShapesPassBase<TesselInferShapesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // Ops come in def-before-use order, so one sweep propagates everything.
    func.walk([](Operation *op) { refineResultTypes(op); });
    updateFunctionResultTypes(func);
  }
};
} // namespace
