//===- TesselOps.h - tessel ops ---------------------------------*- C++ -*-===//

#ifndef TESSEL_DIALECT_TESSELOPS_H
#define TESSEL_DIALECT_TESSELOPS_H

#include "dialect/TesselDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::tessel {
/// True when `l` and `r` pair up as tensors of one element type whose shapes
/// agree wherever both are static.
bool areCompatibleTensorTypes(TypeRange l, TypeRange r);
} // namespace mlir::tessel

#define GET_OP_CLASSES
#include "dialect/TesselOps.h.inc"

#endif // TESSEL_DIALECT_TESSELOPS_H
