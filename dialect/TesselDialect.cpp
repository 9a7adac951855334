//===- TesselDialect.cpp - the tessel dialect -----------------------------===//

#include "dialect/TesselDialect.h"
#include "dialect/TesselOps.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::tessel;

#include "dialect/TesselDialect.cpp.inc"

void TesselDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/TesselOps.cpp.inc"
      >();
}

Operation *TesselDialect::materializeConstant(OpBuilder &builder,
                                              Attribute value, Type type,
                                              Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, type, elements);
}
