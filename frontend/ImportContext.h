//===- ImportContext.h - state shared by the importer's parts ---*- C++ -*-===//
//
// Internal to frontend/: the model-level importer (OnnxImporter.cpp), the
// tensor decoder (TensorImport.cpp) and the per-op converters
// (OpConverters.cpp) talk through these classes.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_FRONTEND_IMPORTCONTEXT_H
#define TESSEL_FRONTEND_IMPORTCONTEXT_H

#include "dialect/TesselOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

#include "onnx.pb.h"

#include <memory>

namespace mlir::tessel::onnx_import {

/// Where tensor bytes may come from: the model's folder (for external data)
/// and a cache of memory-mapped external files.
class TensorSource {
public:
  TensorSource(MLIRContext *context, StringRef modelPath);

  /// Decodes `tensor` into an ElementsAttr: inline for small tensors and
  /// booleans, a blob resource otherwise. `what` names the tensor in errors
  /// ("initializer 'w'", "attribute 'value' of node ...").
  FailureOr<ElementsAttr> decode(const onnx::TensorProto &tensor,
                                 const Twine &what);

  /// The element type for an ONNX TensorProto.DataType, or null.
  static Type elementType(MLIRContext *context, int dataType);

  /// Reports an error at the model file.
  InFlightDiagnostic error() const;

  StringRef modelPath() const { return path; }

private:
  FailureOr<ArrayRef<char>> readExternal(const onnx::TensorProto &tensor,
                                         int64_t expectedBytes,
                                         const Twine &what,
                                         std::shared_ptr<llvm::MemoryBuffer> &owner);

  MLIRContext *context;
  std::string path;
  std::string folder;
  llvm::StringMap<std::shared_ptr<llvm::MemoryBuffer>> mapped;
};

/// The view a per-op converter gets of one ONNX node.
class NodeContext {
public:
  NodeContext(const onnx::NodeProto &node, int opset, OpBuilder &builder,
              Location loc, ArrayRef<Value> inputs, TensorSource &tensors,
              StringRef nodeLabel)
      : node(node), opset(opset), builder(builder), loc(loc), inputs(inputs),
        tensors(tensors), label(nodeLabel) {}

  const onnx::NodeProto &node;
  const int opset;
  OpBuilder &builder;
  const Location loc;

  /// An error naming the file and the node: "node 'n' (Op, opset N): ...".
  InFlightDiagnostic error() const;

  MLIRContext *context() const { return builder.getContext(); }

  /// Input `i`, or null when absent or given as "".
  Value input(unsigned i) const { return i < inputs.size() ? inputs[i] : Value(); }
  /// Input `i`, reporting its absence.
  FailureOr<Value> requiredInput(unsigned i, StringRef name) const;
  /// Checks the number of inputs given (trailing "" count as absent).
  LogicalResult expectInputs(unsigned min, unsigned max) const;
  /// Rejects attributes outside `allowed`.
  LogicalResult expectAttributes(ArrayRef<StringRef> allowed) const;

  /// Typed attribute readers: leave `out` alone when the attribute is
  /// absent, fail (with a diagnostic) when it has another type.
  LogicalResult readInt(StringRef name, int64_t &out) const;
  LogicalResult readFloat(StringRef name, float &out) const;
  LogicalResult readInts(StringRef name, std::optional<SmallVector<int64_t>> &out) const;
  LogicalResult readString(StringRef name, std::string &out) const;
  LogicalResult readTensor(StringRef name, ElementsAttr &out) const;
  bool hasAttribute(StringRef name) const;

  /// The integer values of a constant input (e.g. axes given as an input),
  /// reporting when it is not a constant.
  FailureOr<SmallVector<int64_t>> constantInts(Value v, StringRef what) const;

  /// Builds `tessel.constant`s.
  Value constantI64(ArrayRef<int64_t> values, bool scalar = false);
  Value constantSplat(Type elementType, double value);
  Value constant(ElementsAttr value);

  /// Creates op `name` with its result types inferred, and verifies it.
  FailureOr<Operation *> create(StringRef name, ValueRange operands,
                                ArrayRef<NamedAttribute> attributes = {});

  template <typename OpTy>
  FailureOr<Value> createValue(ValueRange operands,
                               ArrayRef<NamedAttribute> attributes = {}) {
    auto op = create(OpTy::getOperationName(), operands, attributes);
    if (failed(op))
      return failure();
    return (*op)->getResult(0);
  }

  /// Sets the values of the node's outputs, in order.
  void setResults(ValueRange values) { results.assign(values.begin(), values.end()); }
  ArrayRef<Value> getResults() const { return results; }

  NamedAttribute i64Attr(StringRef name, int64_t v) const {
    return builder.getNamedAttr(name, builder.getI64IntegerAttr(v));
  }
  NamedAttribute f32Attr(StringRef name, float v) const {
    return builder.getNamedAttr(name, builder.getF32FloatAttr(v));
  }
  NamedAttribute i64ArrayAttr(StringRef name, ArrayRef<int64_t> v) const {
    return builder.getNamedAttr(name, builder.getDenseI64ArrayAttr(v));
  }
  NamedAttribute strAttr(StringRef name, StringRef v) const {
    return builder.getNamedAttr(name, builder.getStringAttr(v));
  }

  TensorSource &tensorSource() const { return tensors; }

private:
  const onnx::AttributeProto *findAttribute(StringRef name) const;
  LogicalResult wrongAttributeType(const onnx::AttributeProto &attr,
                                   StringRef expected) const;

  ArrayRef<Value> inputs;
  TensorSource &tensors;
  std::string label;
  SmallVector<Value> results;
};

/// Converts one node; on success the converter has called setResults.
using ConvertFn = LogicalResult (*)(NodeContext &);

/// The converter for `opType` at `opset`, or null. `knownOp` tells whether
/// the op is in the table at some other opset.
ConvertFn lookupConverter(StringRef opType, int opset, bool &knownOp);

} // namespace mlir::tessel::onnx_import

#endif // TESSEL_FRONTEND_IMPORTCONTEXT_H
