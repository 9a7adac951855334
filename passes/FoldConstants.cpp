//===- FoldConstants.cpp - evaluate constant subgraphs --------------------===//

#include "dialect/ConstantEvaluator.h"
#include "dialect/ShapeUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELFOLDCONSTANTSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

/// A small integer vector result whose every entry is known from the shapes
/// around it (`tessel.shape` of static dims, concatenations of those, ...).
static DenseElementsAttr foldKnownShapeValue(Value result) {
  auto type = dyn_cast<RankedTensorType>(result.getType());
  if (!type || !type.hasStaticShape() || type.getRank() > 1 ||
      !type.getElementType().isSignlessInteger(64))
    return {};
  auto known = getKnownShapeValues(result);
  if (!known || (int64_t)known->size() != type.getNumElements() ||
      llvm::any_of(*known, ShapedType::isDynamic))
    return {};
  return DenseElementsAttr::get(type, ArrayRef<int64_t>(*known));
}

/// Evaluates `op` into one attribute per result, if possible.
static FailureOr<SmallVector<DenseElementsAttr>>
evaluate(Operation *op, int64_t maxElements) {
  SmallVector<Attribute> operands;
  for (Value v : op->getOperands()) {
    DenseElementsAttr attr;
    operands.push_back(matchPattern(v, m_Constant(&attr)) ? attr
                                                          : Attribute());
  }
  auto values = evaluateConstantOp(op, operands, maxElements);
  if (succeeded(values))
    return values;
  if (op->getNumResults() != 1)
    return failure();
  if (DenseElementsAttr known = foldKnownShapeValue(op->getResult(0)))
    return SmallVector<DenseElementsAttr>{known};
  return failure();
}

namespace {
struct TesselFoldConstantsPass
    : tessel::impl::TesselFoldConstantsPassBase<TesselFoldConstantsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    OpBuilder builder(func.getContext());
    func.walk([&](Operation *op) {
      if (!isa<TesselDialect>(op->getDialect()) || isa<ConstantOp>(op))
        return;
      refineResultTypes(op);
      auto values = evaluate(op, maxElements);
      if (failed(values) || values->size() != op->getNumResults())
        return;
      // The evaluated types must agree with what the IR declares.
      for (auto [result, value] : llvm::zip(op->getResults(), *values))
        if (!areCompatibleTensorTypes(result.getType(), value.getType()))
          return;
      builder.setInsertionPoint(op);
      for (auto [result, value] : llvm::zip(op->getResults(), *values)) {
        auto constant =
            builder.create<ConstantOp>(op->getLoc(), value.getType(), value);
        result.replaceAllUsesWith(constant.getResult());
      }
    });
    updateFunctionResultTypes(func);
  }
};
} // namespace
