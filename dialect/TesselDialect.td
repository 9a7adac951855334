//===- TesselDialect.td - the tessel dialect ----------------*- tablegen -*-===//
//
// The tessel dialect: ops with ONNX semantics over builtin tensors, plus the
// fused ops that tessel's passes create.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_DIALECT_TD
#define TESSEL_DIALECT_TD

include "mlir/IR/OpBase.td"

def Tessel_Dialect : Dialect {
  let name = "tessel";
  let summary = "ONNX-semantics tensor ops and fused transformer ops.";
  let description = [{
    Imported ONNX graphs become `func.func @main` over builtin tensors of
    `tessel` ops. Each op means what its ONNX namesake means at the newest
    opset tessel supports (numpy broadcasting, attribute defaults, negative
    axes); the importer normalises older opsets into that form. Dynamic dims
    are `?`.
  }];
  let cppNamespace = "::mlir::tessel";
  let hasConstantMaterializer = 1;
  // Attributes live in the attribute dictionary so that generic tools (the
  // importer's table, the constant evaluator) read them uniformly.
  let usePropertiesForAttributes = 0;
}

#endif // TESSEL_DIALECT_TD
