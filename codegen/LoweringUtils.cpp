//===- LoweringUtils.cpp - helpers for tessel -> linalg lowerings ---------===//

#include "codegen/LoweringUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineMap.h"

using namespace mlir;
using namespace mlir::tessel;

MemRefType mlir::tessel::anyLayoutMemRef(RankedTensorType type) {
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(type.getContext(), ShapedType::kDynamic,
                                       strides);
  return MemRefType::get(type.getShape(), type.getElementType(), layout);
}

MemRefType mlir::tessel::dynamicStridedMemRef(MLIRContext *ctx, int64_t rank,
                                              Type element) {
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  return MemRefType::get(
      shape, element,
      StridedLayoutAttr::get(ctx, ShapedType::kDynamic, strides));
}

Value mlir::tessel::readOnlyKernelOperand(OpBuilder &b, Location loc,
                                          Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  Value buffer = b.create<bufferization::ToMemrefOp>(
      loc, anyLayoutMemRef(type), tensor, /*read_only=*/true);
  return b.create<memref::CastOp>(
      loc,
      dynamicStridedMemRef(b.getContext(), type.getRank(),
                           type.getElementType()),
      buffer);
}

std::pair<Value, Value>
mlir::tessel::allocAttentionResult(OpBuilder &b, Location loc,
                                   RankedTensorType out, Value q, Value v,
                                   int64_t alignment) {
  SmallVector<Value> dynamicDims;
  for (int64_t i = 0; i < out.getRank(); ++i)
    if (out.isDynamicDim(i))
      dynamicDims.push_back(b.create<tensor::DimOp>(loc, i == 3 ? v : q, i));
  auto type = MemRefType::get(out.getShape(), out.getElementType());
  Value buffer =
      alignment > 0
          ? b.create<memref::AllocOp>(loc, type, dynamicDims,
                                      b.getI64IntegerAttr(alignment))
          : b.create<memref::AllocOp>(loc, type, dynamicDims);
  Value view = b.create<memref::CastOp>(
      loc,
      dynamicStridedMemRef(b.getContext(), out.getRank(),
                           out.getElementType()),
      buffer);
  return {buffer, view};
}

void mlir::tessel::replaceWithBuffer(RewriterBase &rewriter, Operation *op,
                                     Value buffer) {
  Location loc = op->getLoc();
  Value result = rewriter.create<bufferization::ToTensorOp>(
      loc, buffer, /*restrict=*/true, /*writable=*/true);
  if (result.getType() != op->getResult(0).getType())
    result = rewriter.create<tensor::CastOp>(loc, op->getResult(0).getType(),
                                             result);
  rewriter.replaceOp(op, result);
}

OpFoldResult mlir::tessel::dimOf(OpBuilder &b, Location loc, Value v,
                                 int64_t d) {
  auto type = cast<RankedTensorType>(v.getType());
  if (!type.isDynamicDim(d))
    return b.getIndexAttr(type.getDimSize(d));
  return b.create<tensor::DimOp>(loc, v, d).getResult();
}

Value mlir::tessel::dimValue(OpBuilder &b, Location loc, Value v, int64_t d) {
  return getValueOrCreateConstantIndexOp(b, loc, dimOf(b, loc, v, d));
}

SmallVector<OpFoldResult> mlir::tessel::dimsOf(OpBuilder &b, Location loc,
                                               Value v) {
  SmallVector<OpFoldResult> dims;
  for (int64_t d = 0, e = cast<RankedTensorType>(v.getType()).getRank(); d < e;
       ++d)
    dims.push_back(dimOf(b, loc, v, d));
  return dims;
}

Value mlir::tessel::emptyTensor(OpBuilder &b, Location loc,
                                ArrayRef<OpFoldResult> sizes,
                                Type elementType) {
  return b.create<tensor::EmptyOp>(loc, sizes, elementType);
}

Value mlir::tessel::filledTensor(OpBuilder &b, Location loc,
                                 ArrayRef<OpFoldResult> sizes, Value value) {
  Value empty = emptyTensor(b, loc, sizes, value.getType());
  return b.create<linalg::FillOp>(loc, value, empty).getResult(0);
}

Value mlir::tessel::extractIndex(OpBuilder &b, Location loc, Value tensor,
                                 int64_t i) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<Value> indices;
  if (type.getRank() == 1)
    indices.push_back(b.create<arith::ConstantIndexOp>(loc, i));
  Value scalar = b.create<tensor::ExtractOp>(loc, tensor, indices);
  if (scalar.getType().isIndex())
    return scalar;
  return b.create<arith::IndexCastOp>(loc, b.getIndexType(), scalar);
}

Value mlir::tessel::scalarConstant(OpBuilder &b, Location loc, Type type,
                                   double value) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return b.create<arith::ConstantOp>(loc, b.getFloatAttr(floatType, value));
  if (type.isIndex())
    return b.create<arith::ConstantIndexOp>(loc, (int64_t)value);
  auto intType = cast<IntegerType>(type);
  return b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(intType, APInt(intType.getWidth(), (int64_t)value,
                                           /*isSigned=*/true)));
}

Value mlir::tessel::extremeConstant(OpBuilder &b, Location loc, Type type,
                                    bool highest) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return b.create<arith::ConstantOp>(
        loc, b.getFloatAttr(floatType, APFloat::getInf(
                                           floatType.getFloatSemantics(),
                                           /*Negative=*/!highest)));
  auto intType = cast<IntegerType>(type);
  unsigned w = intType.getWidth();
  APInt v = highest ? APInt::getSignedMaxValue(w) : APInt::getSignedMinValue(w);
  if (w == 1)
    v = APInt(1, highest ? 1 : 0);
  return b.create<arith::ConstantOp>(loc, b.getIntegerAttr(intType, v));
}

Value mlir::tessel::castToType(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  return b.create<tensor::CastOp>(loc, type, v);
}

SmallVector<OpFoldResult>
mlir::tessel::withStaticDims(OpBuilder &b, RankedTensorType type,
                             ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> result;
  for (auto [i, size] : llvm::enumerate(sizes))
    result.push_back(type.isDynamicDim(i) ? size
                                          : b.getIndexAttr(type.getDimSize(i)));
  return result;
}

Value mlir::tessel::extractScalar(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<Value> indices;
  if (type.getRank() > 0)
    indices.assign(type.getRank(), b.create<arith::ConstantIndexOp>(loc, 0));
  return b.create<tensor::ExtractOp>(loc, tensor, indices);
}

Value mlir::tessel::wrapNegativeIndex(OpBuilder &b, Location loc, Value index,
                                      Value dim) {
  if (!index.getType().isIndex())
    index = b.create<arith::IndexCastOp>(loc, b.getIndexType(), index);
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value negative =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, index, zero);
  Value wrapped = b.create<arith::AddIOp>(loc, index, dim);
  return b.create<arith::SelectOp>(loc, negative, wrapped, index);
}

Value mlir::tessel::buildIndexedGeneric(OpBuilder &b, Location loc,
                                        ArrayRef<OpFoldResult> sizes,
                                        Type elementType, ValueRange inputs,
                                        ArrayRef<AffineMap> inputMaps,
                                        IndexedBodyBuilder body) {
  int64_t rank = sizes.size();
  Value init = emptyTensor(b, loc, sizes, elementType);
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, b.getContext()));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = b.create<linalg::GenericOp>(
      loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        SmallVector<Value> indices;
        for (int64_t d = 0; d < rank; ++d)
          indices.push_back(nb.create<linalg::IndexOp>(nl, d));
        nb.create<linalg::YieldOp>(nl, body(nb, nl, indices, args.drop_back()));
      });
  return generic.getResult(0);
}

Type mlir::tessel::signlessElementType(Type t) {
  if (auto intType = dyn_cast<IntegerType>(t))
    if (!intType.isSignless())
      return IntegerType::get(t.getContext(), intType.getWidth());
  return t;
}

TesselTypeConverter::TesselTypeConverter() {
  addConversion([](Type t) { return t; });
  addConversion([](RankedTensorType t) -> Type {
    return RankedTensorType::get(t.getShape(),
                                 signlessElementType(t.getElementType()));
  });
}

Value mlir::tessel::convertScalar(OpBuilder &b, Location loc, Value v, Type to,
                                  bool fromUnsigned, bool toUnsigned) {
  Type from = v.getType();
  if (from == to)
    return v;
  auto fromFloat = dyn_cast<FloatType>(from);
  auto toFloat = dyn_cast<FloatType>(to);
  if (to.isInteger(1)) {
    if (fromFloat)
      return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, v,
                                     scalarConstant(b, loc, from, 0));
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, v,
                                   scalarConstant(b, loc, from, 0));
  }
  if (fromFloat && toFloat) {
    if (fromFloat.getWidth() < toFloat.getWidth())
      return b.create<arith::ExtFOp>(loc, to, v);
    if (fromFloat.getWidth() > toFloat.getWidth())
      return b.create<arith::TruncFOp>(loc, to, v);
    // f16 <-> bf16: through f32.
    Value wide = b.create<arith::ExtFOp>(loc, b.getF32Type(), v);
    return b.create<arith::TruncFOp>(loc, to, wide);
  }
  if (fromFloat) {
    if (toUnsigned)
      return b.create<arith::FPToUIOp>(loc, to, v);
    return b.create<arith::FPToSIOp>(loc, to, v);
  }
  if (toFloat) {
    if (fromUnsigned || from.isInteger(1))
      return b.create<arith::UIToFPOp>(loc, to, v);
    return b.create<arith::SIToFPOp>(loc, to, v);
  }
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (fw < tw) {
    if (fromUnsigned || fw == 1)
      return b.create<arith::ExtUIOp>(loc, to, v);
    return b.create<arith::ExtSIOp>(loc, to, v);
  }
  return b.create<arith::TruncIOp>(loc, to, v);
}

//===----------------------------------------------------------------------===//
// Broadcasting element-wise maps
//===----------------------------------------------------------------------===//

namespace {
/// How one operand dim reads the iteration space.
enum class DimAccess { Broadcast, Identity, Ambiguous };
} // namespace

SmallVector<OpFoldResult>
mlir::tessel::broadcastSizes(OpBuilder &b, Location loc, ValueRange operands,
                             RankedTensorType resultType) {
  int64_t rank = resultType.getRank();
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (!resultType.isDynamicDim(i)) {
      sizes.push_back(b.getIndexAttr(resultType.getDimSize(i)));
      continue;
    }
    // The broadcast size is the largest of the operands' sizes (each is 1
    // or the result's size when the program is valid).
    Value size;
    for (Value v : operands) {
      auto type = cast<RankedTensorType>(v.getType());
      int64_t k = i - (rank - type.getRank());
      if (k < 0 || type.getDimSize(k) == 1)
        continue;
      Value d = dimValue(b, loc, v, k);
      size = size ? b.create<arith::MaxSIOp>(loc, size, d).getResult() : d;
    }
    sizes.push_back(size ? OpFoldResult(size) : b.getIndexAttr(1));
  }
  return sizes;
}

Value mlir::tessel::buildBroadcastMap(OpBuilder &b, Location loc,
                                      ValueRange operands,
                                      RankedTensorType resultType,
                                      ScalarBodyBuilder body,
                                      ArrayRef<int64_t> sameShape) {
  int64_t rank = resultType.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> sizes =
      broadcastSizes(b, loc, operands, resultType);

  // Classify every operand dim.
  SmallVector<SmallVector<DimAccess>> access;
  bool anyAmbiguous = false;
  for (auto [idx, v] : llvm::enumerate(operands)) {
    auto type = cast<RankedTensorType>(v.getType());
    int64_t offset = rank - type.getRank();
    bool same = offset == 0 && llvm::is_contained(sameShape, (int64_t)idx);
    SmallVector<DimAccess> dims;
    for (int64_t k = 0; k < type.getRank(); ++k) {
      int64_t d = type.getDimSize(k);
      int64_t out = resultType.getDimSize(k + offset);
      if (d == 1 && out != 1)
        dims.push_back(DimAccess::Broadcast);
      else if (!ShapedType::isDynamic(d) || out == 1 || same)
        dims.push_back(DimAccess::Identity);
      else
        dims.push_back(DimAccess::Ambiguous);
      anyAmbiguous |= dims.back() == DimAccess::Ambiguous;
    }
    access.push_back(dims);
  }

  Value init = emptyTensor(b, loc, sizes, resultType.getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);

  // A generic where ambiguous dims are read as identity (`fast`) or where
  // operands with ambiguous dims are read with explicit broadcast indexing.
  auto buildGeneric = [&](OpBuilder &ob, Location l, bool fast) -> Value {
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    SmallVector<int64_t> indirect; // operands read with tensor.extract
    for (auto [idx, v] : llvm::enumerate(operands)) {
      auto type = cast<RankedTensorType>(v.getType());
      bool hasAmbiguous = llvm::is_contained(access[idx], DimAccess::Ambiguous);
      if (!fast && hasAmbiguous) {
        indirect.push_back(idx);
        continue;
      }
      int64_t offset = rank - type.getRank();
      SmallVector<AffineExpr> exprs;
      for (int64_t k = 0; k < type.getRank(); ++k)
        exprs.push_back(access[idx][k] == DimAccess::Broadcast
                            ? getAffineConstantExpr(0, ctx)
                            : getAffineDimExpr(k + offset, ctx));
      inputs.push_back(v);
      maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
    auto generic = ob.create<linalg::GenericOp>(
        l, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
        iterators, [&](OpBuilder &bb, Location bl, ValueRange args) {
          SmallVector<Value> scalars(operands.size());
          unsigned next = 0;
          for (size_t i = 0; i < operands.size(); ++i)
            if (!llvm::is_contained(indirect, (int64_t)i))
              scalars[i] = args[next++];
          for (int64_t idx : indirect) {
            Value v = operands[idx];
            auto type = cast<RankedTensorType>(v.getType());
            int64_t offset = rank - type.getRank();
            SmallVector<Value> indices;
            Value zero = bb.create<arith::ConstantIndexOp>(bl, 0);
            for (int64_t k = 0; k < type.getRank(); ++k) {
              if (access[idx][k] == DimAccess::Broadcast) {
                indices.push_back(zero);
                continue;
              }
              Value i = bb.create<linalg::IndexOp>(bl, k + offset);
              if (access[idx][k] == DimAccess::Ambiguous) {
                Value one = bb.create<arith::ConstantIndexOp>(bl, 1);
                Value d = bb.create<tensor::DimOp>(bl, v, k);
                Value isOne = bb.create<arith::CmpIOp>(
                    bl, arith::CmpIPredicate::eq, d, one);
                i = bb.create<arith::SelectOp>(bl, isOne, zero, i);
              }
              indices.push_back(i);
            }
            scalars[idx] = bb.create<tensor::ExtractOp>(bl, v, indices);
          }
          bb.create<linalg::YieldOp>(bl, body(bb, bl, scalars));
        });
    return generic.getResult(0);
  };

  if (!anyAmbiguous)
    return buildGeneric(b, loc, /*fast=*/true);

  // Fast path when every ambiguous dim equals the result's at run time.
  Value allEqual = b.create<arith::ConstantIntOp>(loc, 1, 1);
  for (auto [idx, v] : llvm::enumerate(operands)) {
    auto type = cast<RankedTensorType>(v.getType());
    int64_t offset = rank - type.getRank();
    for (int64_t k = 0; k < type.getRank(); ++k) {
      if (access[idx][k] != DimAccess::Ambiguous)
        continue;
      Value d = dimValue(b, loc, v, k);
      Value out = getValueOrCreateConstantIndexOp(b, loc, sizes[k + offset]);
      Value eq = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, d, out);
      allEqual = b.create<arith::AndIOp>(loc, allEqual, eq);
    }
  }
  auto ifOp = b.create<scf::IfOp>(
      loc, allEqual,
      [&](OpBuilder &tb, Location tl) {
        tb.create<scf::YieldOp>(tl, buildGeneric(tb, tl, true));
      },
      [&](OpBuilder &eb, Location el) {
        eb.create<scf::YieldOp>(el, buildGeneric(eb, el, false));
      });
  return ifOp.getResult(0);
}

bool mlir::tessel::isRuntimeCudaCall(StringRef callee) {
  return callee.starts_with("tessel_cuda_") ||
         callee.starts_with("tessel_rt_cuda_");
}

namespace {

/// True if `op` uses `v` as an operand, itself or in an op it contains.
bool usesValue(Operation *op, Value v) {
  bool found = false;
  op->walk([&](Operation *inner) {
    if (llvm::is_contained(inner->getOperands(), v))
      found = true;
  });
  return found;
}

bool isFillOf(Operation *op, Value buffer, function_ref<bool(Value)> isValue) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op);
  return fill && fill.getOutputs().front() == buffer &&
         isValue(fill.getInputs().front());
}

} // namespace

/// The last op before `op` that touches `buffer`; with `skipCopiesOut`,
/// copies that only read it do not count. Null if there is none.
static Operation *lastToucher(Operation *op, Value buffer,
                              bool skipCopiesOut) {
  for (Operation *prev = op->getPrevNode(); prev;
       prev = prev->getPrevNode()) {
    if (!usesValue(prev, buffer))
      continue;
    auto copy = dyn_cast<linalg::CopyOp>(prev);
    if (skipCopiesOut && copy && copy.getInputs().front() == buffer &&
        copy.getOutputs().front() != buffer)
      continue;
    return prev;
  }
  return nullptr;
}

Operation *mlir::tessel::constantInitOf(Operation *user, Value buffer,
                                        function_ref<bool(Value)> isValue) {
  Operation *last = lastToucher(user, buffer, /*skipCopiesOut=*/false);
  if (isFillOf(last, buffer, isValue))
    return last;
  auto copy = dyn_cast_or_null<linalg::CopyOp>(last);
  if (!copy || copy.getOutputs().front() != buffer)
    return nullptr;
  // The source holds the constant when the copy reads it: the last op
  // before the copy that touches it, other copies out of it aside, is the
  // fill. (Later ops may reuse the source: bufferization hands the filled
  // buffer to its last user in place.)
  Value source = copy.getInputs().front();
  if (!source.getDefiningOp<memref::AllocOp>())
    return nullptr;
  Operation *writer = lastToucher(copy, source, /*skipCopiesOut=*/true);
  return isFillOf(writer, source, isValue) ? copy : nullptr;
}

void mlir::tessel::eraseConstantInit(Operation *init,
                                     RewriterBase &rewriter) {
  auto copy = dyn_cast<linalg::CopyOp>(init);
  Value source = copy ? copy.getInputs().front() : Value();
  rewriter.eraseOp(init);
  if (!source)
    return;
  auto alloc = source.getDefiningOp<memref::AllocOp>();
  if (!alloc || !llvm::all_of(source.getUsers(), [](Operation *user) {
        return isa<linalg::FillOp, memref::DeallocOp>(user);
      }))
    return;
  for (Operation *user : llvm::make_early_inc_range(source.getUsers()))
    rewriter.eraseOp(user);
  rewriter.eraseOp(alloc);
}
