//===- LoweringUtils.h - helpers for tessel -> linalg lowerings -*- C++ -*-===//

#ifndef TESSEL_CODEGEN_LOWERINGUTILS_H
#define TESSEL_CODEGEN_LOWERINGUTILS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::tessel {

/// Builds the scalar body of an element-wise computation: `args` holds one
/// scalar per operand (already converted to signless types).
using ScalarBodyBuilder =
    function_ref<Value(OpBuilder &b, Location loc, ValueRange args)>;

/// A memref type of `type`'s shape with a fully dynamic strided layout: what
/// any buffer of the tensor casts to.
MemRefType anyLayoutMemRef(RankedTensorType type);

/// A memref of `rank` dynamic dims with a fully dynamic strided layout: the
/// operand type of runtime kernels called through their C interface.
MemRefType dynamicStridedMemRef(MLIRContext *ctx, int64_t rank, Type element);

/// True for the runtime's CUDA entry points a model calls: the cuBLAS
/// products (tessel_cuda_*) and the runtime's kernels (tessel_rt_cuda_*,
/// the C interfaces _mlir_ciface_tessel_rt_cuda_*). They hand their buffers
/// to the device and are stream-ordered: they enqueue work on the thread's
/// stream and never read buffer contents on the host.
bool isRuntimeCudaCall(StringRef callee);

/// The op that sets the buffer `buffer` to a constant just before `user`
/// (no op between them touches `buffer`): a linalg.fill of `buffer`, or a
/// linalg.copy into it from a fresh buffer whose only writer is such a fill
/// (bufferization's copy of an init tensor several ops share). A fill fits
/// when `isValue` accepts its value. Null if there is none.
Operation *constantInitOf(Operation *user, Value buffer,
                          function_ref<bool(Value)> isValue);

/// Erases `init` (from constantInitOf) once its user no longer reads the
/// buffer, and a copy's source buffer with its fill when nothing else
/// reads it.
void eraseConstantInit(Operation *init, RewriterBase &rewriter);

/// `tensor` as a read-only buffer cast to dynamicStridedMemRef: how runtime
/// kernels take their operands.
Value readOnlyKernelOperand(OpBuilder &b, Location loc, Value tensor);

/// A fresh buffer for an attention result `out` ([batch, heads, seq,
/// head_dim_v]: dims 0-2 from `q`, dim 3 from `v`) and its
/// dynamicStridedMemRef view for the kernel call.
std::pair<Value, Value> allocAttentionResult(OpBuilder &b, Location loc,
                                             RankedTensorType out, Value q,
                                             Value v, int64_t alignment = 0);

/// Replaces `op` by `buffer` as a tensor (restrict, writable), cast to
/// `op`'s result type.
void replaceWithBuffer(RewriterBase &rewriter, Operation *op, Value buffer);

/// Dim `d` of tensor `v`, static when the type says so.
OpFoldResult dimOf(OpBuilder &b, Location loc, Value v, int64_t d);

/// Dim `d` of tensor `v` as an index value.
Value dimValue(OpBuilder &b, Location loc, Value v, int64_t d);

/// All dims of tensor `v`.
SmallVector<OpFoldResult> dimsOf(OpBuilder &b, Location loc, Value v);

/// `tensor.empty` with `sizes` (static entries as attributes).
Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType);

/// A tensor of `sizes` filled with `value` (a scalar).
Value filledTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                   Value value);

/// Element `i` of a 0-D or 1-D integer tensor, as an index.
Value extractIndex(OpBuilder &b, Location loc, Value tensor, int64_t i);

/// A scalar constant of `type` (float or integer) with `value`.
Value scalarConstant(OpBuilder &b, Location loc, Type type, double value);

/// The lowest (or highest) finite value of `type`: reduction identities.
Value extremeConstant(OpBuilder &b, Location loc, Type type, bool highest);

/// `v` as a tensor of `type` (a tensor.cast when the static dims differ).
Value castToType(OpBuilder &b, Location loc, Value v, Type type);

/// `sizes` with every dim that `type` knows statically taken from `type`.
SmallVector<OpFoldResult> withStaticDims(OpBuilder &b, RankedTensorType type,
                                         ArrayRef<OpFoldResult> sizes);

/// The element of a one-element tensor of any rank.
Value extractScalar(OpBuilder &b, Location loc, Value tensor);

/// An integer (or index) `index` into a dim of size `dim` as an index, with
/// negative values counting from the end (ONNX gather/scatter indices).
Value wrapNegativeIndex(OpBuilder &b, Location loc, Value index, Value dim);

/// Builds the scalar body of an indexed computation: `indices` are the
/// iteration indices, `args` one scalar per input.
using IndexedBodyBuilder = function_ref<Value(
    OpBuilder &b, Location loc, ValueRange indices, ValueRange args)>;

/// A linalg.generic producing a tensor of `sizes`: element `indices` is
/// `body(indices, args)`, `args` being `inputs` read through `inputMaps`.
/// Bodies that read other tensors at computed indices use tensor.extract.
Value buildIndexedGeneric(OpBuilder &b, Location loc,
                          ArrayRef<OpFoldResult> sizes, Type elementType,
                          ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                          IndexedBodyBuilder body);

/// Numpy-broadcasting element-wise map of `operands` (ranked tensors of any
/// rank <= the result's) into a tensor of `resultType`. A dynamic dim that
/// may or may not be a broadcast 1 at run time is resolved at run time: when
/// all such dims equal the result's, a plain (vectorisable) generic runs,
/// otherwise one that indexes the broadcast operands explicitly.
/// Operands listed in `sameShape` are known to have the result's shape
/// (tessel-mark-same-shape-operands): their dynamic dims need no check.
Value buildBroadcastMap(OpBuilder &b, Location loc, ValueRange operands,
                        RankedTensorType resultType, ScalarBodyBuilder body,
                        ArrayRef<int64_t> sameShape = {});

/// The result sizes of broadcasting `operands` into a tensor of `resultType`.
SmallVector<OpFoldResult> broadcastSizes(OpBuilder &b, Location loc,
                                         ValueRange operands,
                                         RankedTensorType resultType);

/// Converts `v` (scalar) of element type `from` to `to` with ONNX Cast rules:
/// float -> int truncates toward zero, to i1 means != 0. `fromUnsigned` /
/// `toUnsigned` give the signedness the signless types lost.
Value convertScalar(OpBuilder &b, Location loc, Value v, Type to,
                    bool fromUnsigned, bool toUnsigned);

/// The signless counterpart of a tessel element type (ui8 -> i8).
Type signlessElementType(Type t);

/// Type converter for the CPU lowering: tensors keep their shape, unsigned
/// integer elements become signless.
class TesselTypeConverter : public TypeConverter {
public:
  TesselTypeConverter();
};

/// Patterns for the op families, each in its own file.
void populateElementwiseToLinalgPatterns(TypeConverter &converter,
                                         RewritePatternSet &patterns);
void populateShapeOpsToLinalgPatterns(TypeConverter &converter,
                                      RewritePatternSet &patterns);
/// Gathers and scatters; populateShapeOpsToLinalgPatterns adds them too.
void populateGatherScatterToLinalgPatterns(TypeConverter &converter,
                                           RewritePatternSet &patterns);
void populateReductionsToLinalgPatterns(TypeConverter &converter,
                                        RewritePatternSet &patterns);
void populateMatMulToLinalgPatterns(TypeConverter &converter,
                                    RewritePatternSet &patterns);
void populateRotaryToLinalgPatterns(TypeConverter &converter,
                                    RewritePatternSet &patterns);

} // namespace mlir::tessel

#endif // TESSEL_CODEGEN_LOWERINGUTILS_H
