//===- OnnxImporter.cpp - ONNX ModelProto to tessel IR --------------------===//
//
// Reads the model file, checks the opsets, turns initializers into
// constants, graph inputs into function arguments, and each node into tessel
// ops through the converter table (OpConverters.cpp).
//
//===----------------------------------------------------------------------===//

#include "frontend/OnnxImporter.h"
#include "frontend/ImportContext.h"
#include "dialect/ShapeUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <google/protobuf/io/coded_stream.h>

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::onnx_import;

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

InFlightDiagnostic NodeContext::error() const {
  // Errors point at the file; the node is named in the message so that the
  // text reads the same whatever prints it.
  InFlightDiagnostic diag = tensors.error();
  diag << label << ": ";
  return diag;
}

FailureOr<Value> NodeContext::requiredInput(unsigned i, StringRef name) const {
  if (Value v = input(i))
    return v;
  return error() << "missing required input " << i << " ('" << name << "')";
}

LogicalResult NodeContext::expectInputs(unsigned min, unsigned max) const {
  unsigned given = node.input_size();
  while (given > 0 && node.input(given - 1).empty())
    --given;
  for (unsigned i = 0; i < std::min(given, min); ++i)
    if (node.input(i).empty())
      return error() << "required input " << i << " is given as ''";
  if (given < min || given > max) {
    if (min == max)
      return error() << "expects " << min << " inputs, got " << given;
    return error() << "expects " << min << " to " << max << " inputs, got "
                   << given;
  }
  return success();
}

LogicalResult NodeContext::expectAttributes(ArrayRef<StringRef> allowed) const {
  for (const auto &attr : node.attribute())
    if (!llvm::is_contained(allowed, StringRef(attr.name())))
      return error() << "unsupported attribute '" << attr.name() << "'";
  return success();
}

const onnx::AttributeProto *NodeContext::findAttribute(StringRef name) const {
  for (const auto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

bool NodeContext::hasAttribute(StringRef name) const {
  return findAttribute(name) != nullptr;
}

LogicalResult NodeContext::wrongAttributeType(const onnx::AttributeProto &attr,
                                              StringRef expected) const {
  return error() << "attribute '" << attr.name() << "' must be " << expected
                 << " (it is "
                 << onnx::AttributeProto::AttributeType_Name(attr.type())
                 << ")";
}

LogicalResult NodeContext::readInt(StringRef name, int64_t &out) const {
  const auto *attr = findAttribute(name);
  if (!attr)
    return success();
  if (attr->type() != onnx::AttributeProto::INT)
    return wrongAttributeType(*attr, "an int");
  out = attr->i();
  return success();
}

LogicalResult NodeContext::readFloat(StringRef name, float &out) const {
  const auto *attr = findAttribute(name);
  if (!attr)
    return success();
  if (attr->type() != onnx::AttributeProto::FLOAT)
    return wrongAttributeType(*attr, "a float");
  out = attr->f();
  return success();
}

LogicalResult
NodeContext::readInts(StringRef name,
                      std::optional<SmallVector<int64_t>> &out) const {
  const auto *attr = findAttribute(name);
  if (!attr)
    return success();
  if (attr->type() != onnx::AttributeProto::INTS)
    return wrongAttributeType(*attr, "a list of ints");
  out = SmallVector<int64_t>(attr->ints().begin(), attr->ints().end());
  return success();
}

LogicalResult NodeContext::readString(StringRef name, std::string &out) const {
  const auto *attr = findAttribute(name);
  if (!attr)
    return success();
  if (attr->type() != onnx::AttributeProto::STRING)
    return wrongAttributeType(*attr, "a string");
  out = attr->s();
  return success();
}

LogicalResult NodeContext::readTensor(StringRef name, ElementsAttr &out) const {
  const auto *attr = findAttribute(name);
  if (!attr)
    return success();
  if (attr->type() != onnx::AttributeProto::TENSOR)
    return wrongAttributeType(*attr, "a tensor");
  auto value = tensors.decode(attr->t(), label + ": attribute '" + name + "'");
  if (failed(value))
    return failure();
  out = *value;
  return success();
}

FailureOr<SmallVector<int64_t>> NodeContext::constantInts(Value v,
                                                          StringRef what) const {
  if (auto values = getConstantIntValues(v))
    return *values;
  return error() << what << " must be a constant";
}

Value NodeContext::constant(ElementsAttr value) {
  return builder.create<ConstantOp>(loc, value.getType(), value);
}

Value NodeContext::constantI64(ArrayRef<int64_t> values, bool scalar) {
  SmallVector<int64_t> shape;
  if (!scalar)
    shape.push_back(values.size());
  auto type = RankedTensorType::get(shape, builder.getI64Type());
  return constant(DenseElementsAttr::get(type, values));
}

Value NodeContext::constantSplat(Type elementType, double value) {
  auto type = RankedTensorType::get({}, elementType);
  Attribute scalar;
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    scalar = builder.getFloatAttr(floatType, value);
  } else {
    auto intType = cast<IntegerType>(elementType);
    scalar = builder.getIntegerAttr(
        intType, APInt(intType.getWidth(), (int64_t)value, !intType.isUnsigned()));
  }
  return constant(DenseElementsAttr::get(type, scalar));
}

FailureOr<Operation *> NodeContext::create(StringRef name, ValueRange operands,
                                           ArrayRef<NamedAttribute> attributes) {
  OperationState state(loc, name);
  state.addOperands(operands);
  state.addAttributes(attributes);
  std::optional<RegisteredOperationName> registered = state.name.getRegisteredInfo();
  auto *concept_ =
      registered ? registered->getInterface<InferTypeOpInterface>() : nullptr;
  if (!concept_)
    return error() << "internal: '" << name << "' does not infer its types";
  // ONNX defaults become explicit so that every reader sees them.
  registered->populateDefaultAttrs(state.attributes);
  // Inference diagnostics are attached to the node's error below.
  if (llvm::is_contained(operands, Value()))
    return error() << "internal: a required operand is missing";
  SmallVector<Type> types;
  std::string why;
  LogicalResult inferred = success();
  {
    ScopedDiagnosticHandler capture(context(), [&](Diagnostic &diag) {
      why = diag.str();
      return success();
    });
    inferred = concept_->inferReturnTypes(
        context(), loc, operands, state.attributes.getDictionary(context()),
        /*properties=*/nullptr, /*regions=*/{}, types);
  }
  if (failed(inferred))
    return error() << (why.empty() ? "cannot infer the result types" : why);
  state.addTypes(types);
  Operation *op = builder.create(state);
  std::string verifyError;
  LogicalResult verified = success();
  {
    ScopedDiagnosticHandler capture(context(), [&](Diagnostic &diag) {
      if (verifyError.empty())
        verifyError = diag.str();
      return success();
    });
    verified = mlir::verify(op);
  }
  if (succeeded(verified))
    return op;
  op->erase();
  return error() << verifyError;
}

//===----------------------------------------------------------------------===//
// Model import
//===----------------------------------------------------------------------===//

namespace {

/// The file location of a node, with the module path the PyTorch dynamo
/// exporter records in its metadata (`pkg.torch.onnx.name_scopes`, e.g.
/// ['', 'm', 'm.model', 'm.model.layers.0', ..., 'view']) as the metadata of
/// a FusedLoc: "/m/model/layers.0/self_attn", the form TorchScript exports
/// give node names, so that reports can tell the layer of a dynamo node.
Location nodeScopeLocation(const onnx::NodeProto &node, MLIRContext *context,
                           StringRef path) {
  Location fileLoc = FileLineColLoc::get(context, path, 0, 0);
  // NodeProto.metadata_props (field 9, ONNX 1.16) is newer than Debian's
  // onnx.proto: the lite runtime keeps it among the unknown fields.
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t *>(node.unknown_fields().data()),
      (int)node.unknown_fields().size());
  while (uint32_t tag = in.ReadTag()) {
    std::string bytes;
    if (tag != ((9u << 3) | 2u)) {
      if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag))
        break;
      continue;
    }
    onnx::StringStringEntryProto prop;
    uint32_t size = 0;
    if (!in.ReadVarint32(&size) || !in.ReadString(&bytes, (int)size) ||
        !prop.ParseFromString(bytes))
      break;
    if (prop.key() != "pkg.torch.onnx.name_scopes")
      continue;
    // A Python list of quoted strings; the last is the FX node, the one
    // before it the innermost module.
    SmallVector<StringRef> scopes;
    StringRef rest(prop.value());
    while (true) {
      size_t open = rest.find('\'');
      if (open == StringRef::npos)
        break;
      size_t close = rest.find('\'', open + 1);
      if (close == StringRef::npos)
        break;
      scopes.push_back(rest.slice(open + 1, close));
      rest = rest.drop_front(close + 1);
    }
    if (scopes.size() < 2 || scopes[scopes.size() - 2].empty())
      return fileLoc;
    SmallVector<StringRef> parts;
    scopes[scopes.size() - 2].split(parts, '.');
    std::string scopePath;
    for (StringRef part : parts) {
      bool index = !part.empty() &&
                   llvm::all_of(part, [](char c) { return c >= '0' && c <= '9'; });
      scopePath += (index ? "." : "/") + part.str();
    }
    return FusedLoc::get(context, {fileLoc},
                         StringAttr::get(context, scopePath));
  }
  return fileLoc;
}

/// Imports one model; every failure has already been reported.
class ModelImporter {
public:
  ModelImporter(MLIRContext *context, StringRef path)
      : context(context), path(path.str()), tensors(context, path),
        builder(context) {}

  OwningOpRef<ModuleOp> run();

private:
  InFlightDiagnostic error() { return tensors.error(); }

  LogicalResult readModel(onnx::ModelProto &model);
  FailureOr<int> checkOpsets(const onnx::ModelProto &model);
  FailureOr<Type> valueInfoType(const onnx::ValueInfoProto &info,
                                StringRef what);
  LogicalResult importNode(const onnx::NodeProto &node, int index, int opset);

  MLIRContext *context;
  std::string path;
  TensorSource tensors;
  OpBuilder builder;
  llvm::StringMap<Value> values;
  /// Outputs a converter did not produce (e.g. LayerNormalization's Mean):
  /// using one is an error that names its node.
  llvm::StringMap<std::string> unsupportedOutputs;
};
} // namespace

LogicalResult ModelImporter::readModel(onnx::ModelProto &model) {
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file)
    return error() << "cannot read the model: " << file.getError().message();
  const llvm::MemoryBuffer &buffer = **file;
  if (buffer.getBufferSize() == 0)
    return error() << "the file is empty, not an ONNX model";
  google::protobuf::io::CodedInputStream stream(
      reinterpret_cast<const uint8_t *>(buffer.getBufferStart()),
      buffer.getBufferSize());
  stream.SetTotalBytesLimit(std::numeric_limits<int>::max());
  if (!model.ParseFromCodedStream(&stream) ||
      !stream.ConsumedEntireMessage())
    return error() << "not a valid ONNX model (the protobuf does not parse; "
                      "the file may be truncated or not ONNX)";
  if (!model.has_graph())
    return error() << "not a valid ONNX model (no graph)";
  return success();
}

FailureOr<int> ModelImporter::checkOpsets(const onnx::ModelProto &model) {
  int opset = -1;
  for (const auto &entry : model.opset_import()) {
    if (entry.domain().empty() || entry.domain() == "ai.onnx")
      opset = entry.version();
  }
  if (opset < 0)
    return error() << "the model imports no opset of the default ONNX domain";
  if (opset < kMinOpset || opset > kMaxOpset)
    return error() << "opset " << opset << " is not supported (tessel imports "
                   << "opsets " << kMinOpset << " to " << kMaxOpset << ")";
  return opset;
}

FailureOr<Type> ModelImporter::valueInfoType(const onnx::ValueInfoProto &info,
                                             StringRef what) {
  if (!info.type().has_tensor_type())
    return error() << what << " '" << info.name() << "' is not a tensor";
  const auto &tensorType = info.type().tensor_type();
  Type element = TensorSource::elementType(context, tensorType.elem_type());
  if (!element)
    return error() << what << " '" << info.name()
                   << "' has unsupported element type "
                   << tensorType.elem_type();
  if (!tensorType.has_shape())
    return Type(UnrankedTensorType::get(element));
  SmallVector<int64_t> dims;
  int64_t count = 1;
  for (const auto &dim : tensorType.shape().dim()) {
    if (dim.has_dim_value()) {
      if (dim.dim_value() < 0)
        return error() << what << " '" << info.name() << "' has negative dim "
                       << dim.dim_value();
      if (__builtin_mul_overflow(count, dim.dim_value(), &count))
        return error() << what << " '" << info.name()
                       << "' has dims whose element count overflows";
      dims.push_back(dim.dim_value());
    } else {
      dims.push_back(ShapedType::kDynamic);
    }
  }
  return Type(RankedTensorType::get(dims, element));
}

LogicalResult ModelImporter::importNode(const onnx::NodeProto &node, int index,
                                        int opset) {
  std::string name = node.name().empty() ? llvm::formatv("#{0}", index).str()
                                         : node.name();
  std::string label = llvm::formatv("node '{0}' ({1}, opset {2})", name,
                                    node.op_type(), opset)
                          .str();
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    return error() << label << ": unknown domain '" << node.domain()
                   << "' (tessel imports the default ONNX domain only)";

  SmallVector<Value> inputs;
  for (const std::string &input : node.input()) {
    if (input.empty()) {
      inputs.push_back(Value());
      continue;
    }
    auto it = values.find(input);
    if (it != values.end()) {
      inputs.push_back(it->second);
      continue;
    }
    auto unsupported = unsupportedOutputs.find(input);
    if (unsupported != unsupportedOutputs.end())
      return error() << label << ": input '" << input << "' is "
                     << unsupported->second;
    return error() << label << ": input '" << input
                   << "' is not defined (not a graph input, an initializer, "
                      "or an output of an earlier node)";
  }

  bool knownOp = false;
  ConvertFn convert = lookupConverter(node.op_type(), opset, knownOp);
  if (!convert) {
    if (knownOp)
      return error() << label << ": op '" << node.op_type()
                     << "' is not defined at opset " << opset;
    return error() << label << ": unsupported op '" << node.op_type() << "'";
  }

  Location loc = NameLoc::get(StringAttr::get(context, name),
                              nodeScopeLocation(node, context, path));
  NodeContext ctx(node, opset, builder, loc, inputs, tensors, label);
  if (failed(convert(ctx)))
    return failure();
  ArrayRef<Value> results = ctx.getResults();
  for (int i = 0; i < node.output_size(); ++i) {
    const std::string &output = node.output(i);
    if (output.empty())
      continue;
    if (i < (int)results.size() && results[i]) {
      values[output] = results[i];
      continue;
    }
    unsupportedOutputs[output] =
        llvm::formatv("output {0} of {1}, which tessel does not compute", i,
                      label)
            .str();
  }
  return success();
}

OwningOpRef<ModuleOp> ModelImporter::run() {
  onnx::ModelProto model;
  if (failed(readModel(model)))
    return {};
  FailureOr<int> opset = checkOpsets(model);
  if (failed(opset))
    return {};
  const onnx::GraphProto &graph = model.graph();
  if (graph.node_size() == 0)
    return error() << "the graph is empty (no nodes)", nullptr;
  if (graph.output_size() == 0)
    return error() << "the graph has no outputs", nullptr;

  Location fileLoc = FileLineColLoc::get(context, path, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());

  llvm::StringSet<> initializerNames;
  for (const auto &init : graph.initializer())
    initializerNames.insert(init.name());

  // Graph inputs that are also initializers keep their initializer value.
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  // Per input, the dims' dim_param names ("" where none): inputs that share
  // a name share that size, which passes may rely on (e.g. input_ids and
  // attention_mask are both [batch, seq]).
  SmallVector<Attribute> dimParams;
  bool anyDimParam = false;
  for (const auto &input : graph.input()) {
    if (initializerNames.contains(input.name()))
      continue;
    auto type = valueInfoType(input, "graph input");
    if (failed(type))
      return {};
    argTypes.push_back(*type);
    argNames.push_back(input.name());
    SmallVector<Attribute> names;
    if (input.type().tensor_type().has_shape())
      for (const auto &dim : input.type().tensor_type().shape().dim()) {
        std::string name = dim.has_dim_param() ? dim.dim_param() : "";
        anyDimParam |= !name.empty();
        names.push_back(builder.getStringAttr(name));
      }
    dimParams.push_back(builder.getArrayAttr(names));
  }

  auto func = builder.create<func::FuncOp>(
      fileLoc, "main", builder.getFunctionType(argTypes, {}));
  if (anyDimParam)
    func->setAttr("tessel.dim_params", builder.getArrayAttr(dimParams));
  Block *entry = func.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(argNames)) {
    values[name] = entry->getArgument(i);
    func.setArgAttr(i, "tessel.name", builder.getStringAttr(name));
  }
  builder.setInsertionPointToStart(entry);

  for (const auto &init : graph.initializer()) {
    auto value = tensors.decode(init, "initializer '" + init.name() + "'");
    if (failed(value))
      return {};
    Location loc = NameLoc::get(builder.getStringAttr(init.name()), fileLoc);
    values[init.name()] =
        builder.create<ConstantOp>(loc, value->getType(), *value);
  }

  for (auto [index, node] : llvm::enumerate(graph.node()))
    if (failed(importNode(node, index, *opset)))
      return {};

  SmallVector<Value> results;
  for (const auto &output : graph.output()) {
    auto it = values.find(output.name());
    if (it == values.end())
      return error() << "graph output '" << output.name()
                     << "' is not produced by any node",
             nullptr;
    auto declared = valueInfoType(output, "graph output");
    if (failed(declared))
      return {};
    Type actual = getElementTypeOrSelf(it->second.getType());
    if (getElementTypeOrSelf(*declared) != actual)
      return error() << "graph output '" << output.name() << "' is declared "
                     << getElementTypeOrSelf(*declared)
                     << " but computes " << actual,
             nullptr;
    results.push_back(it->second);
  }
  builder.create<func::ReturnOp>(fileLoc, results);
  func.setFunctionType(
      builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  for (auto [i, output] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "tessel.name", builder.getStringAttr(output.name()));

  if (failed(mlir::verify(*module)))
    return {};
  return module;
}

OwningOpRef<ModuleOp> mlir::tessel::importOnnxFile(MLIRContext *context,
                                                   StringRef path) {
  context->loadDialect<TesselDialect, func::FuncDialect>();
  return ModelImporter(context, path).run();
}
