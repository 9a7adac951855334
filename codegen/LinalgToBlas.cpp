//===- LinalgToBlas.cpp - f32 matrix products -> cblas_sgemm --------------===//
//
// On buffers, each f32 linalg.matmul / batch_matmul (and their transpose_b
// forms) whose operands are row-major or column-major in their last two dims
// becomes a call to OpenBLAS's cblas_sgemm (one per batch entry); with
// `mixed-gemm` set, products of f16 or bf16 operands into f32 (what
// MatMulToLinalg makes of narrow floats) call that function. OpenBLAS's
// kernels are tuned per micro-architecture and picked at run time, which a
// generic loop nest does not match; see bench/results for the measurement.
// Operands with other layouts keep the loop lowering. A result buffer that
// was only zeroed before the product (a zero fill, or bufferization's copy
// of a shared zero-filled init) is not read: beta = 0, and the fill or copy
// goes (one pass over the result and one kernel less on the GPU).
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELLINALGTOBLASPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {
// CBLAS enum values.
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;

/// How a 2-D (per batch) operand is laid out in memory.
struct MatrixLayout {
  bool transposed; // column-major: the row stride is 1
};

/// The layout of the last two dims of `type`, if BLAS can read it.
std::optional<MatrixLayout> matrixLayout(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(getStridesAndOffset(type, strides, offset)) || strides.size() < 2)
    return std::nullopt;
  int64_t rowStride = strides[strides.size() - 2];
  int64_t colStride = strides.back();
  if (colStride == 1)
    return MatrixLayout{false};
  if (rowStride == 1)
    return MatrixLayout{true};
  return std::nullopt;
}

/// Declares `name` with CBLAS's sgemm signature, plus a trailing i32 (the
/// operands' type: 0 f16, 1 bf16) when `mixed`.
func::FuncOp getOrDeclareSgemm(ModuleOp module, OpBuilder &b, StringRef name,
                               bool mixed) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  Type ptr = LLVM::LLVMPointerType::get(b.getContext());
  SmallVector<Type> args{i32, i32, i32, i32, i32, i32, f32,
                         ptr, i32, ptr, i32, f32, ptr, i32};
  if (mixed)
    args.push_back(i32);
  auto type = b.getFunctionType(args, {});
  auto f = b.create<func::FuncOp>(module.getLoc(), name, type);
  f.setPrivate();
  return f;
}

/// Pointer to element `offset` (plus `extra` elements) of `memref`'s buffer,
/// with the runtime strides.
struct MatrixOperand {
  Value base;   // !llvm.ptr to element 0 of the view
  SmallVector<Value> sizes, strides; // index values
  Type element;
};

MatrixOperand describe(OpBuilder &b, Location loc, Value memref) {
  auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, memref);
  // Views of the weights buffer (memref.view, possibly under casts and
  // reshapes) carry their byte shift in the aligned pointer, which
  // expand-strided-metadata drops when it looks through view-like ops:
  // rebuild the pointer from the view's source and shift.
  Value root = memref;
  while (auto viewLike = root.getDefiningOp<ViewLikeOpInterface>()) {
    if (isa<memref::ViewOp>(viewLike))
      break;
    root = viewLike.getViewSource();
  }
  Value address;
  if (auto view = root.getDefiningOp<memref::ViewOp>()) {
    Value source =
        b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, view.getSource());
    Value shifted =
        b.create<arith::AddIOp>(loc, source, view.getByteShift());
    address = b.create<arith::IndexCastOp>(loc, b.getI64Type(), shifted);
  } else {
    Value aligned =
        b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, memref);
    address = b.create<arith::IndexCastOp>(loc, b.getI64Type(), aligned);
  }
  Type ptr = LLVM::LLVMPointerType::get(b.getContext());
  Value base = b.create<LLVM::IntToPtrOp>(loc, ptr, address);
  Value offset =
      b.create<arith::IndexCastOp>(loc, b.getI64Type(), meta.getOffset());
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  base = b.create<LLVM::GEPOp>(loc, ptr, element, base,
                               ArrayRef<LLVM::GEPArg>{offset});
  MatrixOperand m;
  m.base = base;
  m.element = element;
  m.sizes.assign(meta.getSizes().begin(), meta.getSizes().end());
  m.strides.assign(meta.getStrides().begin(), meta.getStrides().end());
  return m;
}

Value toI32(OpBuilder &b, Location loc, Value index) {
  return b.create<arith::IndexCastOp>(loc, b.getI32Type(), index);
}

Value offsetPointer(OpBuilder &b, Location loc, const MatrixOperand &x,
                    Value elements) {
  Value i64 = b.create<arith::IndexCastOp>(loc, b.getI64Type(), elements);
  return b.create<LLVM::GEPOp>(loc, x.base.getType(), x.element, x.base,
                               ArrayRef<LLVM::GEPArg>{i64});
}

/// The callees a contraction may go to.
struct GemmNames {
  std::string f32;   // all operands f32
  std::string mixed; // A, B f16 or bf16 (the same), C f32; empty: none
};

/// Rewrites one contraction; `transposeB` for the *_transpose_b forms.
LogicalResult rewriteToSgemm(linalg::LinalgOp op, const GemmNames &names,
                             bool batched, bool transposeB,
                             PatternRewriter &rewriter) {
  if (!op.hasPureBufferSemantics())
    return rewriter.notifyMatchFailure(op, "not on buffers");
  Value a = op.getDpsInputOperand(0)->get();
  Value bm = op.getDpsInputOperand(1)->get();
  Value c = op.getDpsInitOperand(0)->get();
  auto aType = cast<MemRefType>(a.getType());
  auto bType = cast<MemRefType>(bm.getType());
  auto cType = cast<MemRefType>(c.getType());
  Type inElement = aType.getElementType();
  bool mixed = false;
  if (!cType.getElementType().isF32() || bType.getElementType() != inElement)
    return rewriter.notifyMatchFailure(op, "element types BLAS cannot take");
  if (!inElement.isF32()) {
    if (names.mixed.empty() || !(inElement.isF16() || inElement.isBF16()))
      return rewriter.notifyMatchFailure(op, "no product for these types");
    mixed = true;
  }
  auto aLayout = matrixLayout(aType), bLayout = matrixLayout(bType),
       cLayout = matrixLayout(cType);
  if (!aLayout || !bLayout || !cLayout || cLayout->transposed)
    return rewriter.notifyMatchFailure(op, "operand layout BLAS cannot read");

  // C = A x B (beta = 0) when C was only zeroed; C += A x B otherwise.
  // (Found before any op is built here: those read C's descriptor.)
  Operation *zeroing = constantInitOf(op, c, [](Value v) {
    return matchPattern(v, m_AnyZeroFloat()) || matchPattern(v, m_Zero());
  });
  Location loc = op.getLoc();
  auto module = op->getParentOfType<ModuleOp>();
  func::FuncOp sgemm = getOrDeclareSgemm(
      module, rewriter, mixed ? names.mixed : names.f32, mixed);
  MatrixOperand ma = describe(rewriter, loc, a), mb = describe(rewriter, loc, bm),
                mc = describe(rewriter, loc, c);
  unsigned r = batched ? 1 : 0;
  Value m = mc.sizes[r], n = mc.sizes[r + 1];
  Value k = ma.sizes[r + 1];
  // Leading dimension: the stride of the non-unit dim.
  auto lead = [&](const MatrixOperand &x, bool transposed) {
    return transposed ? x.strides[r + 1] : x.strides[r];
  };
  bool transA = aLayout->transposed;
  // B as stored is [K, N] (or [N, K] for transpose_b); a column-major store
  // flips the transpose flag.
  bool transBFlag = transposeB != bLayout->transposed;
  Value one = rewriter.create<arith::ConstantOp>(loc, rewriter.getF32FloatAttr(1.0f));
  Value beta = zeroing ? rewriter.create<arith::ConstantOp>(
                             loc, rewriter.getF32FloatAttr(0.0f))
                       : one;
  auto i32c = [&](int v) {
    return rewriter.create<arith::ConstantIntOp>(loc, v, 32).getResult();
  };

  auto emitCall = [&](OpBuilder &b, Value pa, Value pb, Value pc) {
    SmallVector<Value> args{i32c(kRowMajor),
                            i32c(transA ? kTrans : kNoTrans),
                            i32c(transBFlag ? kTrans : kNoTrans),
                            toI32(b, loc, m),
                            toI32(b, loc, n),
                            toI32(b, loc, k),
                            one,
                            pa,
                            toI32(b, loc, lead(ma, transA)),
                            pb,
                            toI32(b, loc, lead(mb, bLayout->transposed)),
                            beta,
                            pc,
                            toI32(b, loc, lead(mc, false))};
    if (mixed)
      args.push_back(i32c(inElement.isBF16() ? 1 : 0));
    b.create<func::CallOp>(loc, sgemm, args);
  };

  // BLAS rejects empty problems (lda < 1); an empty product adds nothing.
  Value zeroIdx = rewriter.create<arith::ConstantIndexOp>(loc, 0);
  Value nonEmpty = rewriter.create<arith::AndIOp>(
      loc,
      rewriter.create<arith::AndIOp>(
          loc,
          rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, m,
                                         zeroIdx),
          rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, n,
                                         zeroIdx)),
      rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, k, zeroIdx));
  auto guard = rewriter.create<scf::IfOp>(loc, nonEmpty, /*withElse=*/false);
  rewriter.setInsertionPointToStart(&guard.getThenRegion().front());
  if (!batched) {
    emitCall(rewriter, ma.base, mb.base, mc.base);
  } else {
    Value zero = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value step = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    rewriter.create<scf::ForOp>(
        loc, zero, mc.sizes[0], step, ValueRange{},
        [&](OpBuilder &b, Location l, Value i, ValueRange) {
          auto at = [&](const MatrixOperand &x) {
            Value elements = b.create<arith::MulIOp>(l, i, x.strides[0]);
            return offsetPointer(b, l, x, elements);
          };
          emitCall(b, at(ma), at(mb), at(mc));
          b.create<scf::YieldOp>(l);
        });
  }
  rewriter.eraseOp(op);
  if (zeroing)
    eraseConstantInit(zeroing, rewriter);
  return success();
}

template <typename OpTy, bool Batched, bool TransposeB>
struct ContractionToSgemm : OpRewritePattern<OpTy> {
  ContractionToSgemm(MLIRContext *context, const GemmNames &names)
      : OpRewritePattern<OpTy>(context), names(names) {}
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    return rewriteToSgemm(cast<linalg::LinalgOp>(op.getOperation()), names,
                          Batched, TransposeB, rewriter);
  }
  GemmNames names;
};

struct TesselLinalgToBlasPass
    : tessel::impl::TesselLinalgToBlasPassBase<TesselLinalgToBlasPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // One lvalue: add<...> forwards its arguments to every pattern.
    GemmNames names{gemm, mixedGemm};
    patterns.add<ContractionToSgemm<linalg::MatmulOp, false, false>,
                 ContractionToSgemm<linalg::MatmulTransposeBOp, false, true>,
                 ContractionToSgemm<linalg::BatchMatmulOp, true, false>,
                 ContractionToSgemm<linalg::BatchMatmulTransposeBOp, true, true>>(
        &getContext(), names);
    // In program order: a product that drops the copy of a shared zeroed
    // init lets a later one, which reuses that init in place, drop the
    // fill.
    GreedyRewriteConfig config;
    config.useTopDownTraversal = true;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns),
                                            config)))
      signalPassFailure();
  }
};
} // namespace
