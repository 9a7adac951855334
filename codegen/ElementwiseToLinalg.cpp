//===- ElementwiseToLinalg.cpp - element-wise tessel ops -> linalg --------===//
//
// Every element-wise op becomes one broadcasting linalg.generic whose body is
// the op's scalar formula (see buildBroadcastMap for how dynamic broadcasts
// are resolved).
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "dialect/TesselOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {

bool isFloat(Type t) { return isa<FloatType>(t); }

bool isUnsignedValue(Value v) {
  return getElementTypeOrSelf(v.getType()).isUnsignedInteger();
}

Value constantLike(OpBuilder &b, Location loc, Value like, double v) {
  return scalarConstant(b, loc, like.getType(), v);
}

/// Scalar formulas. `op` is the original op (for attributes and signedness).
struct ScalarFormulas {
  OpBuilder &b;
  Location loc;

  Value add(Value x, Value y) {
    return isFloat(x.getType()) ? b.create<arith::AddFOp>(loc, x, y).getResult()
                                : b.create<arith::AddIOp>(loc, x, y).getResult();
  }
  Value sub(Value x, Value y) {
    return isFloat(x.getType()) ? b.create<arith::SubFOp>(loc, x, y).getResult()
                                : b.create<arith::SubIOp>(loc, x, y).getResult();
  }
  Value mul(Value x, Value y) {
    return isFloat(x.getType()) ? b.create<arith::MulFOp>(loc, x, y).getResult()
                                : b.create<arith::MulIOp>(loc, x, y).getResult();
  }
  Value div(Value x, Value y, bool isUnsigned) {
    if (isFloat(x.getType()))
      return b.create<arith::DivFOp>(loc, x, y);
    if (isUnsigned)
      return b.create<arith::DivUIOp>(loc, x, y);
    return b.create<arith::DivSIOp>(loc, x, y);
  }
  Value min(Value x, Value y, bool isUnsigned) {
    if (isFloat(x.getType()))
      return b.create<arith::MinimumFOp>(loc, x, y);
    if (isUnsigned)
      return b.create<arith::MinUIOp>(loc, x, y);
    return b.create<arith::MinSIOp>(loc, x, y);
  }
  Value max(Value x, Value y, bool isUnsigned) {
    if (isFloat(x.getType()))
      return b.create<arith::MaximumFOp>(loc, x, y);
    if (isUnsigned)
      return b.create<arith::MaxUIOp>(loc, x, y);
    return b.create<arith::MaxSIOp>(loc, x, y);
  }
  Value compare(Value x, Value y, arith::CmpFPredicate fp,
                arith::CmpIPredicate sp, arith::CmpIPredicate up,
                bool isUnsigned) {
    if (isFloat(x.getType()))
      return b.create<arith::CmpFOp>(loc, fp, x, y);
    return b.create<arith::CmpIOp>(loc, isUnsigned ? up : sp, x, y);
  }
  Value exp(Value x) { return b.create<math::ExpOp>(loc, x); }
  Value recip(Value x) {
    return b.create<arith::DivFOp>(loc, constantLike(b, loc, x, 1.0), x);
  }
  Value sigmoid(Value x) {
    Value negated = b.create<arith::NegFOp>(loc, x);
    Value denom = b.create<arith::AddFOp>(loc, constantLike(b, loc, x, 1.0),
                                          exp(negated));
    return recip(denom);
  }
  Value pow(Value x, Value y) {
    if (isFloat(x.getType())) {
      if (y.getType() != x.getType())
        y = convertScalar(b, loc, y, x.getType(), false, false);
      // x^2 is common (variance, Pow in RMSNorm): keep it exact and cheap.
      return b.create<math::PowFOp>(loc, x, y);
    }
    if (y.getType() != x.getType())
      y = convertScalar(b, loc, y, x.getType(), false, false);
    return b.create<math::IPowIOp>(loc, x, y);
  }
  Value gelu(Value x, StringRef approximate) {
    Value half = constantLike(b, loc, x, 0.5);
    Value one = constantLike(b, loc, x, 1.0);
    Value inner;
    if (approximate == "tanh") {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      Value x3 = mul(mul(x, x), x);
      Value poly = add(x, mul(constantLike(b, loc, x, 0.044715), x3));
      inner = b.create<math::TanhOp>(
          loc, mul(constantLike(b, loc, x, 0.7978845608028654), poly));
    } else {
      inner = b.create<math::ErfOp>(
          loc, mul(x, constantLike(b, loc, x, 0.7071067811865476)));
    }
    return mul(mul(half, x), add(one, inner));
  }
  Value softplus(Value x) {
    // max(x, 0) + log1p(exp(-|x|)): no overflow for large x.
    Value zero = constantLike(b, loc, x, 0.0);
    Value absX = b.create<math::AbsFOp>(loc, x);
    Value tail = b.create<math::Log1pOp>(
        loc, exp(b.create<arith::NegFOp>(loc, absX)));
    return add(b.create<arith::MaximumFOp>(loc, x, zero), tail);
  }
  Value isInf(Value x, bool negative, bool positive) {
    Value inf = b.create<arith::ConstantOp>(
        loc, b.getFloatAttr(x.getType(),
                            APFloat::getInf(cast<FloatType>(x.getType())
                                                .getFloatSemantics())));
    Value negInf = b.create<arith::NegFOp>(loc, inf);
    Value isPos = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, x, inf);
    Value isNeg =
        b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, x, negInf);
    Value falseV = b.create<arith::ConstantIntOp>(loc, 0, 1);
    Value r = falseV;
    if (positive)
      r = b.create<arith::OrIOp>(loc, r, isPos);
    if (negative)
      r = b.create<arith::OrIOp>(loc, r, isNeg);
    return r;
  }
};

/// One pattern for every element-wise op; `Formula` builds the scalar.
template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = dyn_cast_or_null<RankedTensorType>(
        this->getTypeConverter()->convertType(op.getType()));
    if (!resultType)
      return rewriter.notifyMatchFailure(op, "result is not a ranked tensor");
    for (Value v : adaptor.getOperands())
      if (!isa<RankedTensorType>(v.getType()))
        return rewriter.notifyMatchFailure(op, "operand is not ranked");
    ArrayRef<int64_t> sameShape;
    if (auto attr = op->template getAttrOfType<DenseI64ArrayAttr>(
            "tessel.same_shape_operands"))
      sameShape = attr.asArrayRef();
    Value result = buildBroadcastMap(
        rewriter, op.getLoc(), adaptor.getOperands(), resultType,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return formula(op, ScalarFormulas{b, loc}, args,
                         resultType.getElementType());
        },
        sameShape);
    rewriter.replaceOp(op, result);
    return success();
  }

  static Value formula(OpTy op, ScalarFormulas f, ValueRange a, Type out);
};

bool unsignedLhs(Operation *op) { return isUnsignedValue(op->getOperand(0)); }

#define FORMULA(OP)                                                            \
  template <>                                                                  \
  Value ElementwiseLowering<OP>::formula(OP op, ScalarFormulas f,              \
                                         ValueRange a, Type out)

FORMULA(AddOp) { return f.add(a[0], a[1]); }
FORMULA(SubOp) { return f.sub(a[0], a[1]); }
FORMULA(MulOp) { return f.mul(a[0], a[1]); }
FORMULA(DivOp) { return f.div(a[0], a[1], unsignedLhs(op)); }
FORMULA(MinOp) { return f.min(a[0], a[1], unsignedLhs(op)); }
FORMULA(MaxOp) { return f.max(a[0], a[1], unsignedLhs(op)); }
FORMULA(PowOp) {
  // x^2, x^3 (variance, RMSNorm, tanh-GELU) and x^0.5 are exported as Pow
  // with a constant exponent: multiplications/sqrt instead of powf calls.
  DenseElementsAttr exponent;
  if (isFloat(a[0].getType()) &&
      matchPattern(op.getRhs(), m_Constant(&exponent)) &&
      exponent.isSplat() && isa<FloatType>(exponent.getElementType())) {
    double e = exponent.getSplatValue<APFloat>().convertToDouble();
    if (e == 1.0)
      return a[0];
    if (e == 2.0)
      return f.mul(a[0], a[0]);
    if (e == 3.0)
      return f.mul(f.mul(a[0], a[0]), a[0]);
    if (e == 0.5)
      return f.b.create<math::SqrtOp>(f.loc, a[0]);
  }
  return f.pow(a[0], a[1]);
}
FORMULA(AndOp) { return f.b.create<arith::AndIOp>(f.loc, a[0], a[1]); }
FORMULA(OrOp) { return f.b.create<arith::OrIOp>(f.loc, a[0], a[1]); }
FORMULA(XorOp) { return f.b.create<arith::XOrIOp>(f.loc, a[0], a[1]); }
FORMULA(EqualOp) {
  return f.compare(a[0], a[1], arith::CmpFPredicate::OEQ,
                   arith::CmpIPredicate::eq, arith::CmpIPredicate::eq, false);
}
FORMULA(LessOp) {
  return f.compare(a[0], a[1], arith::CmpFPredicate::OLT,
                   arith::CmpIPredicate::slt, arith::CmpIPredicate::ult,
                   unsignedLhs(op));
}
FORMULA(LessOrEqualOp) {
  return f.compare(a[0], a[1], arith::CmpFPredicate::OLE,
                   arith::CmpIPredicate::sle, arith::CmpIPredicate::ule,
                   unsignedLhs(op));
}
FORMULA(GreaterOp) {
  return f.compare(a[0], a[1], arith::CmpFPredicate::OGT,
                   arith::CmpIPredicate::sgt, arith::CmpIPredicate::ugt,
                   unsignedLhs(op));
}
FORMULA(GreaterOrEqualOp) {
  return f.compare(a[0], a[1], arith::CmpFPredicate::OGE,
                   arith::CmpIPredicate::sge, arith::CmpIPredicate::uge,
                   unsignedLhs(op));
}
FORMULA(NegOp) {
  if (isFloat(a[0].getType()))
    return f.b.create<arith::NegFOp>(f.loc, a[0]);
  return f.sub(constantLike(f.b, f.loc, a[0], 0), a[0]);
}
FORMULA(AbsOp) {
  if (isFloat(a[0].getType()))
    return f.b.create<math::AbsFOp>(f.loc, a[0]);
  if (unsignedLhs(op))
    return a[0];
  return f.b.create<math::AbsIOp>(f.loc, a[0]);
}
FORMULA(SqrtOp) { return f.b.create<math::SqrtOp>(f.loc, a[0]); }
FORMULA(ReciprocalOp) { return f.recip(a[0]); }
FORMULA(ExpOp) { return f.exp(a[0]); }
FORMULA(LogOp) { return f.b.create<math::LogOp>(f.loc, a[0]); }
FORMULA(TanhOp) { return f.b.create<math::TanhOp>(f.loc, a[0]); }
FORMULA(SigmoidOp) { return f.sigmoid(a[0]); }
FORMULA(SiluOp) { return f.mul(a[0], f.sigmoid(a[0])); }
FORMULA(ErfOp) { return f.b.create<math::ErfOp>(f.loc, a[0]); }
FORMULA(SinOp) { return f.b.create<math::SinOp>(f.loc, a[0]); }
FORMULA(CosOp) { return f.b.create<math::CosOp>(f.loc, a[0]); }
FORMULA(ReluOp) {
  return f.max(a[0], constantLike(f.b, f.loc, a[0], 0), unsignedLhs(op));
}
FORMULA(SoftplusOp) { return f.softplus(a[0]); }
FORMULA(FloorOp) { return f.b.create<math::FloorOp>(f.loc, a[0]); }
FORMULA(CeilOp) { return f.b.create<math::CeilOp>(f.loc, a[0]); }
FORMULA(RoundOp) { return f.b.create<math::RoundEvenOp>(f.loc, a[0]); }
FORMULA(NotOp) {
  return f.b.create<arith::XOrIOp>(f.loc, a[0],
                                   f.b.create<arith::ConstantIntOp>(f.loc, 1, 1));
}
FORMULA(IsNaNOp) {
  return f.b.create<arith::CmpFOp>(f.loc, arith::CmpFPredicate::UNO, a[0],
                                   a[0]);
}
FORMULA(IsInfOp) {
  return f.isInf(a[0], op.getDetectNegative() != 0,
                 op.getDetectPositive() != 0);
}
FORMULA(GeluOp) { return f.gelu(a[0], op.getApproximate()); }
FORMULA(ClipOp) {
  bool u = unsignedLhs(op);
  return f.min(f.max(a[0], a[1], u), a[2], u);
}
FORMULA(WhereOp) {
  return f.b.create<arith::SelectOp>(f.loc, a[0], a[1], a[2]);
}
FORMULA(CastOp) {
  return convertScalar(f.b, f.loc, a[0], out, unsignedLhs(op),
                       op.getTo().isUnsignedInteger());
}
FORMULA(CastLikeOp) {
  return convertScalar(
      f.b, f.loc, a[0], out, unsignedLhs(op),
      getElementTypeOrSelf(op.getTargetType().getType()).isUnsignedInteger());
}
FORMULA(IdentityOp) { return a[0]; }

#undef FORMULA

/// CastLike reads only its first operand's values.
struct CastLikeLowering : OpConversionPattern<CastLikeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CastLikeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = dyn_cast_or_null<RankedTensorType>(
        getTypeConverter()->convertType(op.getType()));
    if (!resultType || !isa<RankedTensorType>(adaptor.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "unranked");
    Value result = buildBroadcastMap(
        rewriter, op.getLoc(), ValueRange{adaptor.getInput()}, resultType,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return ElementwiseLowering<CastLikeOp>::formula(
              op, ScalarFormulas{b, loc}, args, resultType.getElementType());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Identity forwards its operand.
struct IdentityLowering : OpConversionPattern<IdentityOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(IdentityOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type type = getTypeConverter()->convertType(op.getType());
    Value input = adaptor.getInput();
    if (input.getType() != type)
      input = rewriter.create<tensor::CastOp>(op.getLoc(), type, input);
    rewriter.replaceOp(op, input);
    return success();
  }
};
} // namespace

void mlir::tessel::populateElementwiseToLinalgPatterns(
    TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<
      ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>,
      ElementwiseLowering<MulOp>, ElementwiseLowering<DivOp>,
      ElementwiseLowering<MinOp>, ElementwiseLowering<MaxOp>,
      ElementwiseLowering<PowOp>, ElementwiseLowering<AndOp>,
      ElementwiseLowering<OrOp>, ElementwiseLowering<XorOp>,
      ElementwiseLowering<EqualOp>, ElementwiseLowering<LessOp>,
      ElementwiseLowering<LessOrEqualOp>, ElementwiseLowering<GreaterOp>,
      ElementwiseLowering<GreaterOrEqualOp>, ElementwiseLowering<NegOp>,
      ElementwiseLowering<AbsOp>, ElementwiseLowering<SqrtOp>,
      ElementwiseLowering<ReciprocalOp>, ElementwiseLowering<ExpOp>,
      ElementwiseLowering<LogOp>, ElementwiseLowering<TanhOp>,
      ElementwiseLowering<SigmoidOp>, ElementwiseLowering<SiluOp>,
      ElementwiseLowering<ErfOp>,
      ElementwiseLowering<SinOp>, ElementwiseLowering<CosOp>,
      ElementwiseLowering<ReluOp>, ElementwiseLowering<SoftplusOp>,
      ElementwiseLowering<FloorOp>, ElementwiseLowering<CeilOp>,
      ElementwiseLowering<RoundOp>, ElementwiseLowering<NotOp>,
      ElementwiseLowering<IsNaNOp>, ElementwiseLowering<IsInfOp>,
      ElementwiseLowering<GeluOp>, ElementwiseLowering<ClipOp>,
      ElementwiseLowering<WhereOp>, ElementwiseLowering<CastOp>,
      CastLikeLowering, IdentityLowering>(converter, patterns.getContext());
}
