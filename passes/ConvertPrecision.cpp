//===- ConvertPrecision.cpp - f32 graph -> f16 / bf16 graph ---------------===//
//
// tessel-convert-precision: every f32 tensor of a function (weights,
// constants, activations) becomes f16 or bf16. Inputs and outputs keep their
// f32 types (a cast after each input, one before each output), so a model's
// interface does not depend on its precision. Accumulation stays in f32: the
// lowerings of products, reductions, softmax and norms accumulate narrow
// floats in f32 (MatMulToLinalg, ReductionsToLinalg), and cuBLAS products
// of f16/bf16 operands compute in f32. Values computed from integers
// (positions: rotary angles) stay f32 until they meet activations.
//
//===----------------------------------------------------------------------===//

#include "dialect/TesselOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cmath>
#include <cstring>

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELCONVERTPRECISIONPASS
#include "passes/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

/// f32 -> bf16, rounding to nearest even; NaN stays a (quiet) NaN, and
/// finite values that round to infinity saturate to +-bf16's largest (as
/// for f16 below).
uint16_t toBFloat16(float f) {
  uint32_t u = bitsOf(f);
  if (std::isnan(f))
    return (uint16_t)((u >> 16) | 0x40);
  if (std::isinf(f))
    return (uint16_t)(u >> 16);
  u += 0x7fff + ((u >> 16) & 1);
  uint16_t h = (uint16_t)(u >> 16);
  if ((h & 0x7fff) == 0x7f80) // rounded to infinity
    h = (uint16_t)((h & 0x8000) | 0x7f7f);
  return h;
}

/// f32 -> IEEE f16, rounding to nearest even. Finite values beyond f16's
/// range saturate to +-65504: graphs use float32's lowest value as a
/// "minus infinity" fill, and a finite fill keeps the meaning of rows whose
/// every score is filled (equal weights) where -inf would give NaN. Infinities
/// and NaN stay what they are.
uint16_t toHalf(float f) {
  uint32_t u = bitsOf(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
  if (std::isnan(f))
    return sign | 0x7e00;
  if (std::isinf(f))
    return sign | 0x7c00;
  float a = std::fabs(f);
  if (a >= 65520.0f) // rounds to infinity: saturate
    return sign | 0x7bff;
  int exp = (int)((u >> 23) & 0xff) - 127;
  uint32_t mant = u & 0x7fffff;
  if (exp >= -14) { // normal f16
    uint32_t h = ((uint32_t)(exp + 15) << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
      ++h; // may carry into the exponent: still correct
    return sign | (uint16_t)h;
  }
  if (exp < -25)
    return sign; // below half the smallest subnormal: zero
  // Subnormal: value = m * 2^-24 with m < 1024.
  mant |= 0x800000;
  int shift = -exp - 1; // value = mant * 2^(exp - 23) = h * 2^-24
  uint32_t h = mant >> shift;
  uint32_t rest = mant & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1)))
    ++h;
  return sign | (uint16_t)h;
}

/// `values` (f32) converted to `target`'s bit patterns.
std::vector<uint16_t> convertValues(ArrayRef<float> values, FloatType target) {
  std::vector<uint16_t> out(values.size());
  bool bf16 = target.isBF16();
  for (size_t i = 0; i < values.size(); ++i)
    out[i] = bf16 ? toBFloat16(values[i]) : toHalf(values[i]);
  return out;
}

struct TesselConvertPrecisionPass
    : tessel::impl::TesselConvertPrecisionPassBase<TesselConvertPrecisionPass> {
  using Base::Base;

  FloatType target;

  Type convertType(Type t) const {
    if (t.isF32())
      return target;
    if (auto tensor = dyn_cast<RankedTensorType>(t))
      if (tensor.getElementType().isF32())
        return tensor.clone(target);
    if (auto tensor = dyn_cast<UnrankedTensorType>(t))
      if (tensor.getElementType().isF32())
        return UnrankedTensorType::get(target);
    return t;
  }

  /// `attr` with f32 elements converted; null when it has none.
  Attribute convertElements(ElementsAttr attr, Operation *op) {
    auto type = dyn_cast<ShapedType>(attr.getType());
    if (!type || !type.getElementType().isF32())
      return {};
    auto newType = cast<ShapedType>(type.clone(target));
    if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
      SmallVector<APFloat> values;
      for (float f : dense.getValues<float>()) {
        uint16_t bits = target.isBF16() ? toBFloat16(f) : toHalf(f);
        values.push_back(APFloat(target.getFloatSemantics(), APInt(16, bits)));
      }
      return DenseElementsAttr::get(newType, values);
    }
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
      AsmResourceBlob *blob = resource.getRawHandle().getBlob();
      if (!blob) {
        op->emitError("tessel-convert-precision: weight '")
            << resource.getRawHandle().getKey() << "' has no data";
        return {};
      }
      ArrayRef<char> raw = blob->getData();
      ArrayRef<float> values(reinterpret_cast<const float *>(raw.data()),
                             raw.size() / sizeof(float));
      std::vector<uint16_t> bits = convertValues(values, target);
      AsmResourceBlob converted = HeapAsmResourceBlob::allocateAndCopyWithAlign(
          ArrayRef<char>(reinterpret_cast<const char *>(bits.data()),
                         bits.size() * sizeof(uint16_t)),
          alignof(uint64_t));
      std::string key = (resource.getRawHandle().getKey() + "." +
                         (target.isBF16() ? "bf16" : "f16"))
                            .str();
      return DenseResourceElementsAttr::get(newType, key, std::move(converted));
    }
    op->emitError("tessel-convert-precision: unsupported constant kind ")
        << attr;
    return {};
  }

  /// Converts op's f32 attributes (tensors, element types) in place.
  LogicalResult convertAttributes(Operation *op) {
    for (NamedAttribute named : op->getAttrs()) {
      Attribute attr = named.getValue();
      if (auto elements = dyn_cast<ElementsAttr>(attr)) {
        auto type = dyn_cast<ShapedType>(elements.getType());
        if (!type || !type.getElementType().isF32())
          continue;
        Attribute converted = convertElements(elements, op);
        if (!converted)
          return failure();
        op->setAttr(named.getName(), converted);
      } else if (auto typeAttr = dyn_cast<TypeAttr>(attr)) {
        if (typeAttr.getValue().isF32())
          op->setAttr(named.getName(), TypeAttr::get(target));
      }
    }
    return success();
  }

  /// A value of `type`'s element type made from `v` (a tessel.cast).
  Value castTo(OpBuilder &b, Location loc, Value v, Type element) {
    auto type = cast<TensorType>(v.getType());
    return b.create<CastOp>(loc, type.clone(element), v, TypeAttr::get(element),
                            b.getI64IntegerAttr(1));
  }

  LogicalResult convertFunction(func::FuncOp fn) {
    if (fn.isExternal())
      return success();
    Block &entry = fn.getBody().front();
    OpBuilder b(fn.getContext());

    // Ops that only exist in f32 keep f32 operands and results (casts
    // around them): the paged KV cache's attention holds an f32 cache,
    // unless the target's cache stores the narrow type (narrowKvCache).
    bool narrowCache = narrowKvCache;
    auto keepsF32 = [narrowCache](Operation *op) {
      return !narrowCache && isa<KvAttentionOp>(op);
    };

    SmallVector<Operation *> ops;
    fn.walk([&](Operation *op) {
      if (op != fn && !isa<func::ReturnOp>(op))
        ops.push_back(op);
    });

    // Values computed from integers (positions, lengths) stay f32 until they
    // meet the model's activations: rotary angles are position x frequency,
    // and position 255 in bf16 is off by up to half a radian. Such an op
    // ("index-derived") is an integer -> f32 cast, or an op whose f32
    // operands are all index-derived or constants, at least one of them
    // index-derived. The constants they read keep an f32 copy.
    llvm::DenseSet<Operation *> indexDerived;
    auto isF32Tensor = [](Value v) {
      return getElementTypeOrSelf(v.getType()).isF32();
    };
    for (Operation *op : ops) {
      if (keepsF32(op) || op->getNumResults() == 0)
        continue;
      if (auto cast = dyn_cast<CastOp>(op)) {
        if (cast.getTo().isF32() &&
            isa<IntegerType>(getElementTypeOrSelf(cast.getInput().getType()))) {
          indexDerived.insert(op);
          continue;
        }
      }
      bool any = false, all = true;
      for (Value v : op->getOperands()) {
        if (!isF32Tensor(v))
          continue;
        Operation *def = v.getDefiningOp();
        if (def && indexDerived.contains(def))
          any = true;
        else if (!def || !def->hasTrait<OpTrait::ConstantLike>())
          all = false;
      }
      if (any && all)
        indexDerived.insert(op);
    }
    for (Operation *op : ops) {
      if (!op->hasTrait<OpTrait::ConstantLike>() || indexDerived.contains(op))
        continue;
      SmallVector<OpOperand *> wideUses;
      for (OpOperand &use : op->getUses())
        if (indexDerived.contains(use.getOwner()))
          wideUses.push_back(&use);
      if (wideUses.empty())
        continue;
      b.setInsertionPoint(op);
      Operation *copy = b.clone(*op);
      indexDerived.insert(copy);
      for (OpOperand *use : wideUses)
        use->set(copy->getResult(cast<OpResult>(use->get()).getResultNumber()));
    }

    for (Operation *op : ops) {
      if (keepsF32(op) || indexDerived.contains(op))
        continue;
      if (isa<ConstantOfShapeOp>(op) &&
          !op->getAttr("value") &&
          getElementTypeOrSelf(op->getResult(0).getType()).isF32()) {
        // The default fill (f32 0) made explicit in the new type.
        auto fill = RankedTensorType::get({1}, target);
        op->setAttr("value",
                    DenseElementsAttr::get(
                        fill, APFloat::getZero(target.getFloatSemantics())));
      }
      if (failed(convertAttributes(op)))
        return failure();
      for (OpResult result : op->getResults())
        result.setType(convertType(result.getType()));
    }

    // Where an index-derived f32 value meets the graph's precision, it is
    // rounded once (one cast per value).
    llvm::DenseMap<Value, Value> narrowed;
    for (Operation *op : ops) {
      if (keepsF32(op) || indexDerived.contains(op) || isa<CastOp>(op))
        continue;
      for (OpOperand &use : op->getOpOperands()) {
        Operation *def = use.get().getDefiningOp();
        if (!def || !indexDerived.contains(def) || !isF32Tensor(use.get()))
          continue;
        Value &narrow = narrowed[use.get()];
        if (!narrow) {
          b.setInsertionPointAfter(def);
          narrow = castTo(b, def->getLoc(), use.get(), target);
        }
        use.set(narrow);
      }
    }

    // Operands of f32-only ops go back to f32; their results come to the
    // graph's precision.
    for (Operation *op : ops) {
      if (!keepsF32(op))
        continue;
      b.setInsertionPoint(op);
      llvm::DenseMap<Value, Value> wide; // one cast per operand value
      for (OpOperand &use : op->getOpOperands()) {
        Type element = getElementTypeOrSelf(use.get().getType());
        if (element != target)
          continue;
        Value &cast = wide[use.get()];
        if (!cast)
          cast = castTo(b, op->getLoc(), use.get(), b.getF32Type());
        use.set(cast);
      }
      b.setInsertionPointAfter(op);
      for (OpResult result : op->getResults()) {
        if (!getElementTypeOrSelf(result.getType()).isF32() ||
            result.use_empty())
          continue;
        Value narrow = castTo(b, op->getLoc(), result, target);
        result.replaceAllUsesExcept(narrow, narrow.getDefiningOp());
      }
    }

    // Inputs: f32 at the interface, the graph's precision inside.
    b.setInsertionPointToStart(&entry);
    for (BlockArgument arg : entry.getArguments()) {
      if (!getElementTypeOrSelf(arg.getType()).isF32() || arg.use_empty())
        continue;
      Value narrow = castTo(b, fn.getLoc(), arg, target);
      arg.replaceAllUsesExcept(narrow, narrow.getDefiningOp());
    }
    // Outputs: back to the function's declared (f32) result types.
    WalkResult walk = fn.walk([&](func::ReturnOp ret) {
      b.setInsertionPoint(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        Type declared = fn.getResultTypes()[operand.getOperandNumber()];
        Type element = getElementTypeOrSelf(declared);
        if (getElementTypeOrSelf(operand.get().getType()) != element)
          operand.set(castTo(b, ret.getLoc(), operand.get(), element));
      }
      return WalkResult::advance();
    });
    return failure(walk.wasInterrupted());
  }

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    if (precision == "fp32" || precision == "f32")
      return;
    if (precision == "fp16" || precision == "f16")
      target = Float16Type::get(ctx);
    else if (precision == "bf16")
      target = BFloat16Type::get(ctx);
    else {
      getOperation().emitError("tessel-convert-precision: unknown precision '")
          << precision << "' (expected fp32, fp16 or bf16)";
      return signalPassFailure();
    }
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (failed(convertFunction(fn)))
        return signalPassFailure();
    // The cache stores what tessel.kv_attention now reads.
    ModuleOp module = getOperation();
    auto cache = module->getAttrOfType<DictionaryAttr>("tessel.kv_cache");
    auto dtype = cache ? cache.getAs<TypeAttr>("dtype") : TypeAttr();
    if (narrowKvCache && dtype && dtype.getValue().isF32()) {
      NamedAttrList entries(cache);
      entries.set("dtype", TypeAttr::get(target));
      module->setAttr("tessel.kv_cache", entries.getDictionary(ctx));
    }
  }
};

} // namespace
