//===- ResolveReshapeShapes.cpp - reshape targets as constants ------------===//
//
// Exporters compute a Reshape's target from the input's own shape
// (Concat(Gather(Shape(x), 0), Gather(Shape(x), 1), 4, 16)). The lowering
// sees only a run-time shape tensor and falls back to tensor.reshape, which
// element-wise fusion cannot see through: a projection's conversion and the
// head transpose after it stayed two loop nests (two GPU kernels). With the
// symbolic shape analysis (passes/ShapeFacts, which knows the ONNX
// dim_params), a target whose every result dim is proven to be the input's
// dim at that index (ONNX's 0: copy it) or a constant becomes a constant
// shape, which the lowering turns into tensor.expand_shape/collapse_shape.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "dialect/TesselOps.h"
#include "passes/ShapeFacts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELRESOLVERESHAPESHAPESPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

struct TesselResolveReshapeShapesPass
    : tessel::impl::TesselResolveReshapeShapesPassBase<
          TesselResolveReshapeShapesPass> {
  void runOnOperation() override {
    fusion::ShapeFacts facts;
    SmallVector<std::pair<ReshapeOp, SmallVector<int64_t>>> resolved;
    getOperation().walk([&](ReshapeOp op) {
      if (op.getAllowzero() != 0)
        return;
      auto shapeType = dyn_cast<RankedTensorType>(op.getShape().getType());
      auto inType = dyn_cast<RankedTensorType>(op.getData().getType());
      if (!shapeType || !inType || shapeType.getRank() != 1 ||
          !shapeType.hasStaticShape() ||
          !shapeType.getElementType().isSignlessInteger(64) ||
          op.getShape().getDefiningOp<ConstantOp>())
        return;
      std::optional<fusion::SymShape> in = facts.dims(op.getData());
      std::optional<fusion::SymShape> out = facts.dims(op.getResult());
      if (!in || !out || (int64_t)out->size() != shapeType.getDimSize(0))
        return;
      SmallVector<int64_t> target;
      for (auto [q, dim] : llvm::enumerate(*out)) {
        if (q < in->size() && dim == (*in)[q]) {
          target.push_back(0); // copy the input's dim q
          continue;
        }
        std::optional<int64_t> c = dim.getConstant();
        if (!c || *c <= 0) // 0 would mean "copy"; unknown dims stay
          return;
        target.push_back(*c);
      }
      resolved.push_back({op, target});
    });
    OpBuilder b(&getContext());
    for (auto &[op, target] : resolved) {
      b.setInsertionPoint(op);
      auto type = cast<RankedTensorType>(op.getShape().getType());
      auto constant = b.create<ConstantOp>(
          op.getLoc(), type,
          DenseElementsAttr::get(type, ArrayRef<int64_t>(target)));
      op.getShapeMutable().set(constant);
    }
  }
};

} // namespace
