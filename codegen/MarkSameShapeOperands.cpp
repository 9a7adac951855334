//===- MarkSameShapeOperands.cpp - operands that need no broadcast check --===//
//
// tessel-mark-same-shape-operands: an element-wise op whose operand has a
// dynamic dim is lowered with a run-time broadcast check (the dim may be a
// broadcast 1), which splits the op into two linalg.generic ops under an
// scf.if and stops element-wise fusion. Where the symbolic shape analysis
// (passes/ShapeFacts, which knows the model's ONNX dim_params) proves an
// operand has the result's shape, this pass records it in
// `tessel.same_shape_operands`, and the lowering reads that operand with an
// identity map.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "dialect/TesselOps.h"
#include "passes/ShapeFacts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELMARKSAMESHAPEOPERANDSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

struct TesselMarkSameShapeOperandsPass
    : tessel::impl::TesselMarkSameShapeOperandsPassBase<
          TesselMarkSameShapeOperandsPass> {
  void runOnOperation() override {
    fusion::ShapeFacts facts;
    getOperation().walk([&](Operation *op) {
      if (!isa<TesselDialect>(op->getDialect()) || op->getNumResults() != 1 ||
          op->getNumOperands() < 2)
        return;
      auto result = dyn_cast<RankedTensorType>(op->getResult(0).getType());
      if (!result || result.hasStaticShape())
        return;
      std::optional<fusion::SymShape> out = facts.dims(op->getResult(0));
      if (!out)
        return;
      SmallVector<int64_t> same;
      for (auto [i, v] : llvm::enumerate(op->getOperands())) {
        auto type = dyn_cast<RankedTensorType>(v.getType());
        if (!type || type.getRank() != result.getRank() ||
            type.hasStaticShape())
          continue;
        std::optional<fusion::SymShape> dims = facts.dims(v);
        if (dims && *dims == *out)
          same.push_back(i);
      }
      if (!same.empty())
        op->setAttr("tessel.same_shape_operands",
                    DenseI64ArrayAttr::get(op->getContext(), same));
    });
  }
};

} // namespace
