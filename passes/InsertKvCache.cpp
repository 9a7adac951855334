//===- InsertKvCache.cpp - stateless decoder -> prefill/decode ------------===//
//
// tessel-insert-kv-cache: clones a causal decoder's @main into @prefill and
// @decode entry points whose attention reads and writes the runtime's paged
// KV cache (tessel.kv_attention), whose positions start at each sequence's
// cache length, and which return the last position's logits.
//
//===----------------------------------------------------------------------===//

#include "dialect/TesselOps.h"
#include "passes/Passes.h"
#include "passes/ShapeFacts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELINSERTKVCACHEPASS
#include "passes/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::fusion;

namespace {

/// The argument of `fn` whose `tessel.name` is `name`, or -1.
int findArgument(func::FuncOp fn, StringRef name) {
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (auto attr = fn.getArgAttrOfType<StringAttr>(i, "tessel.name"))
      if (attr.getValue() == name)
        return i;
  return -1;
}

/// Whether every value `v` is computed from is a constant, a shape, or one of
/// `allowed`.
bool dependsOnlyOn(Value v, ArrayRef<Value> allowed) {
  SmallVector<Value> work{v};
  llvm::DenseSet<Value> seen;
  while (!work.empty()) {
    Value cur = work.pop_back_val();
    if (!seen.insert(cur).second)
      continue;
    if (llvm::is_contained(allowed, cur))
      continue;
    Operation *def = cur.getDefiningOp();
    if (!def)
      return false;
    // Shapes are not data: a mask may be reshaped to the ids' shape.
    if (isa<ShapeOp>(def))
      continue;
    if (def->getNumRegions() != 0)
      return false;
    for (Value operand : def->getOperands())
      work.push_back(operand);
  }
  return true;
}

/// Whether `v` is the 0-D (or one-element 1-D) integer constant `c`.
bool isIntConstant(Value v, int64_t c) {
  DenseIntElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || attr.getNumElements() != 1)
    return false;
  return (*attr.getValues<APInt>().begin()).getSExtValue() == c;
}

/// Erases ops without uses and without side effects until none is left.
void eraseDeadOps(func::FuncOp fn) {
  bool changed = true;
  while (changed) {
    changed = false;
    SmallVector<Operation *> dead;
    fn.walk<WalkOrder::PostOrder>([&](Operation *op) {
      if (op != fn && isOpTriviallyDead(op))
        dead.push_back(op);
    });
    for (Operation *op : llvm::reverse(dead)) {
      op->erase();
      changed = true;
    }
  }
}

/// Infers again the result types of every op that (transitively) uses one of
/// `roots`, in program order, then the function's result types.
LogicalResult reinferUsers(func::FuncOp fn, ArrayRef<Value> roots) {
  llvm::DenseSet<Value> changed(roots.begin(), roots.end());
  WalkResult walk = fn.walk([&](Operation *op) -> WalkResult {
    if (!llvm::any_of(op->getOperands(),
                      [&](Value v) { return changed.contains(v); }))
      return WalkResult::advance();
    if (isa<func::ReturnOp>(op))
      return WalkResult::advance();
    if (auto cast = dyn_cast<tensor::CastOp>(op)) {
      // A cast to a more static type stays valid while the types agree;
      // otherwise it forwards the new type.
      if (!tensor::CastOp::areCastCompatible(cast.getSource().getType(),
                                             cast.getType())) {
        cast.getResult().setType(cast.getSource().getType());
      }
      changed.insert(cast.getResult());
      return WalkResult::advance();
    }
    auto infer = dyn_cast<InferTypeOpInterface>(op);
    if (!infer) {
      op->emitOpError("uses the rebased positions but cannot infer its "
                      "result types again");
      return WalkResult::interrupt();
    }
    SmallVector<Type> types;
    if (failed(infer.inferReturnTypes(
            op->getContext(), op->getLoc(), op->getOperands(),
            op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
            op->getRegions(), types)))
      return WalkResult::interrupt();
    for (auto [result, type] : llvm::zip(op->getResults(), types)) {
      result.setType(type);
      changed.insert(result);
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  auto ret = cast<func::ReturnOp>(fn.getBody().back().getTerminator());
  fn.setFunctionType(FunctionType::get(fn.getContext(), fn.getArgumentTypes(),
                                       ret.getOperandTypes()));
  return success();
}

/// What the cache must hold per layer, agreed by every attention op.
struct CacheShape {
  int64_t layers = 0;
  int64_t kvHeads = -1;
  int64_t headDim = -1;
  int64_t windowLeft = -1;
  Type element;
};

struct InsertKvCache
    : public tessel::impl::TesselInsertKvCachePassBase<InsertKvCache> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main) {
      module.emitError("tessel-insert-kv-cache: the module has no @main");
      return signalPassFailure();
    }
    if (module.lookupSymbol("prefill") || module.lookupSymbol("decode")) {
      module.emitError("tessel-insert-kv-cache: the module already has "
                       "@prefill/@decode");
      return signalPassFailure();
    }
    FailureOr<CacheShape> shape = checkMain(main);
    if (failed(shape))
      return signalPassFailure();

    auto prefill = cast<func::FuncOp>(main->clone());
    prefill.setName("prefill");
    module.push_back(prefill);
    if (failed(rewriteEntry(prefill)))
      return signalPassFailure();
    prefill->setAttr("tessel.entry", StringAttr::get(&getContext(), "prefill"));

    auto decode = cast<func::FuncOp>(prefill->clone());
    decode.setName("decode");
    module.push_back(decode);
    decode->setAttr("tessel.entry", StringAttr::get(&getContext(), "decode"));
    decode.walk([&](KvAttentionOp op) {
      op.setModeAttr(StringAttr::get(&getContext(), "decode"));
    });

    Builder b(&getContext());
    module->setAttr(
        "tessel.kv_cache",
        b.getDictionaryAttr({
            b.getNamedAttr("num_layers", b.getI64IntegerAttr(shape->layers)),
            b.getNamedAttr("num_kv_heads", b.getI64IntegerAttr(shape->kvHeads)),
            b.getNamedAttr("head_dim", b.getI64IntegerAttr(shape->headDim)),
            b.getNamedAttr("window_left",
                           b.getI64IntegerAttr(shape->windowLeft)),
            b.getNamedAttr("dtype", TypeAttr::get(shape->element)),
        }));
  }

  /// Checks that @main is a causal decoder this pass can rewrite.
  FailureOr<CacheShape> checkMain(func::FuncOp main) {
    int ids = findArgument(main, "input_ids");
    if (ids < 0) {
      main.emitError("tessel-insert-kv-cache: @main has no 'input_ids' "
                     "argument");
      return failure();
    }
    auto idsType = dyn_cast<RankedTensorType>(main.getArgumentTypes()[ids]);
    if (!idsType || idsType.getRank() != 2 ||
        !idsType.getElementType().isInteger(64)) {
      main.emitError("tessel-insert-kv-cache: 'input_ids' must be a 2-D i64 "
                     "tensor [batch, seq], got ")
          << main.getArgumentTypes()[ids];
      return failure();
    }
    if (main.getNumResults() != 1) {
      main.emitError("tessel-insert-kv-cache: @main must return one tensor "
                     "(the logits), it returns ")
          << main.getNumResults();
      return failure();
    }
    auto logits = dyn_cast<RankedTensorType>(main.getResultTypes()[0]);
    if (!logits || logits.getRank() != 3) {
      main.emitError("tessel-insert-kv-cache: the result must be 3-D logits "
                     "[batch, seq, vocab], got ")
          << main.getResultTypes()[0];
      return failure();
    }
    int maskIndex = findArgument(main, "attention_mask");
    SmallVector<Value> maskSources;
    if (maskIndex >= 0)
      maskSources.push_back(main.getArgument(maskIndex));

    CacheShape shape;
    WalkResult walk = main.walk([&](AttentionOp op) -> WalkResult {
      auto fail = [&](const Twine &why) {
        op.emitOpError("cannot use a KV cache: ") << why;
        return WalkResult::interrupt();
      };
      auto q = dyn_cast<RankedTensorType>(op.getQ().getType());
      auto k = dyn_cast<RankedTensorType>(op.getK().getType());
      if (!q || !k || q.getRank() != 4 || k.getRank() != 4)
        return fail("q/k/v must be 4-D [batch, heads, seq, head_dim]");
      if (op.getIsCausal() != 1)
        return fail("it is not causal");
      if ((int64_t)op.getWindowRight() > 0)
        return fail("it attends to keys after the query (window_right = " +
                    Twine((int64_t)op.getWindowRight()) + ")");
      if (Value mask = op.getMask();
          mask && !dependsOnlyOn(mask, maskSources))
        return fail("its mask depends on more than attention_mask");
      int64_t kvHeads = k.getDimSize(1), headDim = k.getDimSize(3);
      if (ShapedType::isDynamic(kvHeads) || ShapedType::isDynamic(headDim) ||
          q.getDimSize(3) != headDim ||
          cast<RankedTensorType>(op.getV().getType()).getDimSize(3) != headDim)
        return fail("kv heads and head dims must be static and equal for q, "
                    "k and v");
      if (shape.layers == 0) {
        shape = {0, kvHeads, headDim, (int64_t)op.getWindowLeft(), k.getElementType()};
      } else if (shape.kvHeads != kvHeads || shape.headDim != headDim ||
                 shape.windowLeft != (int64_t)op.getWindowLeft()) {
        return fail("its kv heads / head dim / window differ from the first "
                    "layer's (" +
                    Twine(kvHeads) + "/" + Twine(headDim) + "/" +
                    Twine((int64_t)op.getWindowLeft()) + " vs " + Twine(shape.kvHeads) +
                    "/" + Twine(shape.headDim) + "/" +
                    Twine(shape.windowLeft) + ")");
      }
      ++shape.layers;
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    if (shape.layers == 0) {
      main.emitError("tessel-insert-kv-cache: @main has no tessel.attention "
                     "(run tessel-fuse-attention first; is it a decoder?)");
      return failure();
    }
    return shape;
  }

  /// Rewrites a clone of @main into an entry over the cache.
  LogicalResult rewriteEntry(func::FuncOp fn) {
    MLIRContext *ctx = fn.getContext();
    int ids = findArgument(fn, "input_ids");
    Value inputIds = fn.getArgument(ids);
    Block &body = fn.getBody().front();
    Location loc = fn.getLoc();

    // past_lens [B]: appended after the original arguments.
    auto pastType = RankedTensorType::get({ShapedType::kDynamic},
                                          IntegerType::get(ctx, 64));
    (void)fn.insertArgument(fn.getNumArguments(), pastType,
                            DictionaryAttr::get(ctx, {NamedAttribute(
                                StringAttr::get(ctx, "tessel.name"),
                                StringAttr::get(ctx, "past_lens"))}),
                            loc);
    Value past = fn.getArguments().back();

    // Shape(attention_mask) is Shape(input_ids) (both [batch, seq]): the
    // exporters read the sequence length from either.
    ShapeFacts facts;
    std::optional<SymShape> idsDims = facts.dims(inputIds);
    if (int m = findArgument(fn, "attention_mask"); m >= 0) {
      Value mask = fn.getArgument(m);
      if (idsDims && facts.dims(mask) == idsDims)
        for (OpOperand &use : llvm::make_early_inc_range(mask.getUses()))
          if (isa<ShapeOp>(use.getOwner()))
            use.set(inputIds);
    }

    // Attention over the cache, one layer index per op in program order.
    SmallVector<AttentionOp> attentions;
    fn.walk([&](AttentionOp op) { attentions.push_back(op); });
    OpBuilder b(ctx);
    for (auto [layer, op] : llvm::enumerate(attentions)) {
      b.setInsertionPoint(op);
      float scale;
      if (auto s = op.getScale())
        scale = s->convertToFloat();
      else
        scale = 1.0f / std::sqrt((float)cast<RankedTensorType>(
                                     op.getQ().getType())
                                     .getDimSize(3));
      auto kv = b.create<KvAttentionOp>(
          op.getLoc(), op.getQ(), op.getK(), op.getV(), past,
          b.getI64IntegerAttr(layer), b.getF32FloatAttr(scale),
          b.getF32FloatAttr(op.getSoftcap().convertToFloat()),
          b.getI64IntegerAttr((int64_t)op.getWindowLeft()),
          b.getStringAttr("prefill"));
      Value result = kv.getResult();
      if (result.getType() != op.getType())
        result = b.create<tensor::CastOp>(op.getLoc(), op.getType(), result);
      op.replaceAllUsesWith(result);
      op.erase();
    }

    // Positions: Unsqueeze(Range(0, S, 1), axes containing 0) becomes
    // past_lens[:, None] + Range(0, S, 1)[None, :], unsqueezed at the
    // remaining axes.
    SmallVector<Value> rebased;
    SmallVector<RangeOp> ranges;
    fn.walk([&](RangeOp r) { ranges.push_back(r); });
    SmallVector<std::pair<Operation *, SmallVector<Operation *>>> positionRows;
    for (RangeOp range : ranges) {
      if (!isIntConstant(range.getStart(), 0) ||
          !isIntConstant(range.getDelta(), 1))
        continue;
      std::optional<SymShape> limit = facts.entries(range.getLimit());
      if (!idsDims || !limit || limit->size() != 1 ||
          (*limit)[0] != (*idsDims)[1])
        continue;
      SmallVector<UnsqueezeOp> users;
      for (Operation *user : range->getUsers())
        if (auto u = dyn_cast<UnsqueezeOp>(user);
            u && llvm::is_contained(u.getAxes(), 0))
          users.push_back(u);
      if (users.empty())
        continue;
      positionRows.push_back({range, {}});
      for (UnsqueezeOp u : users) {
        b.setInsertionPoint(u);
        Value pastCol = b.create<UnsqueezeOp>(u.getLoc(), past,
                                              b.getDenseI64ArrayAttr({1}));
        auto row = b.create<UnsqueezeOp>(u.getLoc(), range.getResult(),
                                         b.getDenseI64ArrayAttr({0}));
        positionRows.back().second.push_back(row);
        Value positions = b.create<AddOp>(u.getLoc(), pastCol, row);
        SmallVector<int64_t> rest;
        for (int64_t axis : u.getAxes())
          if (axis != 0)
            rest.push_back(axis);
        if (!rest.empty())
          positions = b.create<UnsqueezeOp>(u.getLoc(), positions,
                                            b.getDenseI64ArrayAttr(rest));
        u.getResult().replaceAllUsesWith(positions);
        u.erase();
        rebased.push_back(positions);
      }
    }

    // The logits of each sequence's last position.
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    b.setInsertionPoint(ret);
    Value logits = ret.getOperand(0);
    Value shape = b.create<ShapeOp>(loc, inputIds, b.getI64IntegerAttr(0),
                                    IntegerAttr());
    Value one = b.create<ConstantOp>(
        loc, DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                    b.getI64IntegerAttr(1).getValue()));
    Value seq = b.create<GatherOp>(loc, shape, one, b.getI64IntegerAttr(0));
    Value last = b.create<SubOp>(loc, seq, one);
    Value lastLogits =
        b.create<GatherOp>(loc, logits, last, b.getI64IntegerAttr(1));
    ret->setOperand(0, lastLogits);

    eraseDeadOps(fn);
    if (failed(reinferUsers(fn, rebased)))
      return failure();

    // Every use of attention_mask must be gone now.
    int maskIndex = findArgument(fn, "attention_mask");
    if (maskIndex >= 0) {
      BlockArgument mask = fn.getArgument(maskIndex);
      if (!mask.use_empty()) {
        (*mask.getUsers().begin())
            ->emitOpError("cannot use a KV cache: it reads "
                              "attention_mask for something other than an "
                              "attention mask (positions from a cumulative "
                              "sum of the mask?)");
        return failure();
      }
      fn.eraseArgument(maskIndex);
    }
    // The symbolic dim names follow the arguments: past_lens is [batch].
    if (auto params = fn->getAttrOfType<ArrayAttr>("tessel.dim_params")) {
      SmallVector<Attribute> names(params.begin(), params.end());
      auto idsNames = dyn_cast<ArrayAttr>(names[ids]);
      if (maskIndex >= 0 && maskIndex < (int)names.size())
        names.erase(names.begin() + maskIndex);
      Attribute batch = idsNames && !idsNames.empty()
                            ? idsNames[0]
                            : StringAttr::get(ctx, "batch");
      names.push_back(ArrayAttr::get(ctx, {batch}));
      fn->setAttr("tessel.dim_params", ArrayAttr::get(ctx, names));
    }
    // A position range that still feeds anything but the rebased positions
    // would count from 0 in a later step.
    for (auto [range, row] : positionRows)
      for (Operation *user : range->getUsers())
        if (!llvm::is_contained(row, user)) {
          user->emitOpError("cannot use a KV cache: it reads the position "
                            "range other than through Unsqueeze(axes = 0), "
                            "so its positions would not start at the "
                            "sequence's cache length");
          return failure();
        }
    return success();
  }
};

} // namespace
