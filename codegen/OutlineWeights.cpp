//===- OutlineWeights.cpp - move weights into the model.weights buffer ----===//

#include "codegen/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELOUTLINEWEIGHTSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

/// Bytes of one element in the weights buffer.
static int64_t elementBytes(Type t) {
  return t.isInteger(1) ? 1 : llvm::divideCeil(t.getIntOrFloatBitWidth(), 8);
}

/// Weights worth moving out: blob resources of signless/float elements.
static bool isOutlinable(ConstantOp op) {
  auto value = dyn_cast<DenseResourceElementsAttr>(op.getValue());
  if (!value)
    return false;
  Type element = value.getType().getElementType();
  return (isa<FloatType>(element) || element.isSignlessInteger()) &&
         !element.isInteger(1) && value.getType().hasStaticShape();
}

namespace {
struct TesselOutlineWeightsPass
    : tessel::impl::TesselOutlineWeightsPassBase<TesselOutlineWeightsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal()) {
      module.emitError("tessel-outline-weights needs a func.func @main");
      return signalPassFailure();
    }
    MLIRContext *context = &getContext();
    // @main and the entry points tessel-insert-kv-cache added share one
    // weights buffer: a weight they all read is stored once.
    SmallVector<func::FuncOp> entries{main};
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn != main && fn->hasAttr("tessel.entry") && !fn.isExternal())
        entries.push_back(fn);
    SmallVector<Attribute> manifest;
    DenseMap<Attribute, int64_t> offsets;
    int64_t offset = 0;
    for (func::FuncOp fn : entries)
      if (failed(outline(fn, offsets, offset, manifest)))
        return signalPassFailure();
    module->setAttr(kWeightsAttrName, ArrayAttr::get(context, manifest));
  }

  LogicalResult outline(func::FuncOp main, DenseMap<Attribute, int64_t> &offsets,
                        int64_t &offset, SmallVectorImpl<Attribute> &manifest) {
    MLIRContext *context = &getContext();
    OpBuilder builder(context);

    // The weights buffer becomes the function's first argument.
    auto bufferType = MemRefType::get({ShapedType::kDynamic},
                                      IntegerType::get(context, 8));
    (void)main.insertArgument(
        0, bufferType,
        builder.getDictionaryAttr(builder.getNamedAttr(
            "tessel.name", builder.getStringAttr("__weights__"))),
        main.getLoc());
    Value buffer = main.getArgument(0);

    builder.setInsertionPointToStart(&main.getBody().front());
    main.walk([&](ConstantOp op) {
      if (!isOutlinable(op))
        return;
      auto value = cast<DenseResourceElementsAttr>(op.getValue());
      auto type = value.getType();
      auto [it, inserted] = offsets.try_emplace(value, 0);
      if (inserted) {
        offset = llvm::alignTo(offset, kWeightAlignment);
        it->second = offset;
        std::string name = "weight";
        if (auto nameLoc = dyn_cast<NameLoc>(op.getLoc()))
          name = nameLoc.getName().str();
        manifest.push_back(builder.getDictionaryAttr({
            builder.getNamedAttr("name", builder.getStringAttr(name)),
            builder.getNamedAttr("offset", builder.getI64IntegerAttr(offset)),
            builder.getNamedAttr("value", value),
        }));
        offset +=
            type.getNumElements() * elementBytes(type.getElementType());
      }

      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPoint(op);
      Location loc = op.getLoc();
      Value at = builder.create<arith::ConstantIndexOp>(loc, it->second);
      auto viewType = MemRefType::get(type.getShape(), type.getElementType());
      Value view = builder.create<memref::ViewOp>(loc, viewType, buffer, at,
                                                  ValueRange{});
      Value tensor = builder.create<bufferization::ToTensorOp>(
          loc, view, /*restrict=*/true, /*writable=*/false);
      op.getResult().replaceAllUsesWith(tensor);
      op.erase();
    });

    // Results must be fresh allocations the caller can free: a returned
    // value may otherwise alias an input, a weight or a constant.
    auto ret = cast<func::ReturnOp>(main.getBody().back().getTerminator());
    builder.setInsertionPoint(ret);
    for (OpOperand &operand : ret->getOpOperands()) {
      auto type = dyn_cast<RankedTensorType>(operand.get().getType());
      if (!type)
        return main.emitError("result ")
               << operand.getOperandNumber() << " of @" << main.getName()
               << " is not a ranked tensor";
      operand.set(builder.create<bufferization::AllocTensorOp>(
          ret.getLoc(), type, ValueRange{}, operand.get()));
    }
    return success();
  }
};
} // namespace
