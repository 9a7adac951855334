//===- FusionReport.cpp - what the graph pipeline fused, as JSON ----------===//

#include "FusionReport.h"

#include "dialect/TesselOps.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Regex.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tessel;
namespace json = llvm::json;

namespace {

constexpr llvm::StringLiteral kUnfusedAttr = "tessel.unfused";
constexpr llvm::StringLiteral kUnfusedKindAttr = "tessel.unfused_kind";

/// The ONNX node names in `loc`, in order, without repeats.
void collectNames(Location loc, llvm::SetVector<StringRef> &names) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    names.insert(name.getName().getValue());
    return;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location inner : fused.getLocations())
      collectNames(inner, names);
    return;
  }
  if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    collectNames(callSite.getCallee(), names);
}

/// The module paths the importer recorded (FusedLoc metadata, from dynamo
/// exports' name scopes) in `loc`.
void collectScopes(Location loc, llvm::SetVector<StringRef> &scopes) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return collectScopes(name.getChildLoc(), scopes);
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    if (auto scope = dyn_cast_or_null<StringAttr>(fused.getMetadata()))
      scopes.insert(scope.getValue());
    for (Location inner : fused.getLocations())
      collectScopes(inner, scopes);
    return;
  }
  if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    collectScopes(callSite.getCallee(), scopes);
}

/// The block index in a node name: `layers.3`, `layer.3`, `h.3`,
/// `blocks.3` as a path component.
std::optional<int64_t> layerOf(ArrayRef<StringRef> names) {
  static const llvm::Regex pattern(
      "(^|/)(layers|layer|h|blocks|block)\\.([0-9]+)(/|$)");
  for (StringRef name : names) {
    SmallVector<StringRef> groups;
    int64_t layer;
    if (pattern.match(name, &groups) && !groups[3].getAsInteger(10, layer))
      return layer;
  }
  return std::nullopt;
}

json::Value optionalInt(std::optional<int64_t> v) {
  return v ? json::Value(*v) : json::Value(nullptr);
}

/// A static dim of `v`, if it has one.
std::optional<int64_t> staticDim(Value v, int64_t d) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || d >= type.getRank() || type.isDynamicDim(d))
    return std::nullopt;
  return type.getDimSize(d);
}

json::Object attentionAttributes(AttentionOp op) {
  int64_t rank = cast<ShapedType>(op.getQ().getType()).getRank();
  std::optional<int64_t> heads, kvHeads, headDim;
  if (op.getQNumHeads())
    heads = (int64_t)*op.getQNumHeads();
  else if (rank == 4)
    heads = staticDim(op.getQ(), 1);
  if (op.getKvNumHeads())
    kvHeads = (int64_t)*op.getKvNumHeads();
  else if (rank == 4)
    kvHeads = staticDim(op.getK(), 1);
  if (rank == 4) {
    headDim = staticDim(op.getQ(), 3);
  } else if (std::optional<int64_t> hidden = staticDim(op.getQ(), 2);
             hidden && heads && *heads > 0) {
    headDim = *hidden / *heads;
  }
  json::Value scale = nullptr;
  if (op.getScale())
    scale = op.getScale()->convertToDouble();
  else if (headDim && *headDim > 0)
    scale = 1.0 / std::sqrt((double)*headDim);

  json::Object attrs{
      {"heads", optionalInt(heads)},
      {"kv_heads", optionalInt(kvHeads)},
      {"scale", std::move(scale)},
      {"causal", op.getIsCausal() != 0},
      {"window",
       json::Array{(int64_t)op.getWindowLeft(), (int64_t)op.getWindowRight()}},
      {"fully_masked_rows", op.getFullyMaskedRows()},
      {"mask", static_cast<bool>(op.getMask())},
      {"softcap", op.getSoftcap().convertToDouble()},
  };
  // The mask's dims ("?x1x1x?" is a key-padding mask, the causal part being
  // in "causal"), and why a mask built at run time was kept as it is.
  if (Value mask = op.getMask()) {
    std::string shape;
    if (auto type = dyn_cast<RankedTensorType>(mask.getType()))
      for (auto [i, d] : llvm::enumerate(type.getShape()))
        shape += (i ? "x" : "") +
                 (ShapedType::isDynamic(d) ? std::string("?")
                                           : std::to_string(d));
    attrs["mask_shape"] = shape;
  }
  if (auto note = op->getAttrOfType<StringAttr>("tessel.mask_note"))
    attrs["mask_note"] = note.getValue();
  if (op.getTileQ())
    attrs["tile_q"] = (int64_t)*op.getTileQ();
  if (op.getTileKv())
    attrs["tile_kv"] = (int64_t)*op.getTileKv();
  return attrs;
}

/// The report kind and attributes of a fused op; nullopt for other ops.
std::optional<std::pair<StringRef, json::Object>> describe(Operation *op) {
  if (auto attention = dyn_cast<AttentionOp>(op))
    return std::make_pair(StringRef("attention"),
                          attentionAttributes(attention));
  if (auto norm = dyn_cast<LayerNormalizationOp>(op))
    return std::make_pair(
        StringRef("layer_normalization"),
        json::Object{{"axis", (int64_t)norm.getAxis()},
                     {"epsilon", norm.getEpsilon().convertToDouble()},
                     {"stash_type", (int64_t)norm.getStashType()},
                     {"bias", static_cast<bool>(norm.getBias())}});
  if (auto norm = dyn_cast<RMSNormalizationOp>(op))
    return std::make_pair(
        StringRef("rms_normalization"),
        json::Object{{"axis", (int64_t)norm.getAxis()},
                     {"epsilon", norm.getEpsilon().convertToDouble()},
                     {"stash_type", (int64_t)norm.getStashType()}});
  if (auto gelu = dyn_cast<GeluOp>(op))
    return std::make_pair(StringRef("gelu"),
                          json::Object{{"approximate", gelu.getApproximate()}});
  if (isa<SiluOp>(op))
    return std::make_pair(StringRef("silu"), json::Object{});
  if (auto rotary = dyn_cast<RotaryEmbeddingOp>(op)) {
    json::Object attrs{
        {"interleaved", rotary.getInterleaved() != 0},
        {"rotary_embedding_dim", (int64_t)rotary.getRotaryEmbeddingDim()},
        {"position_ids", static_cast<bool>(rotary.getPositionIds())}};
    if (rotary.getNumHeads())
      attrs["num_heads"] = (int64_t)*rotary.getNumHeads();
    return std::make_pair(StringRef("rotary_embedding"), std::move(attrs));
  }
  return std::nullopt;
}

struct LayerEntry {
  json::Array fused, unfused;
};

} // namespace

json::Object mlir::tessel::buildFusionReport(ModuleOp module, StringRef model,
                                             int optLevel, StringRef target) {
  json::Array ops;
  // Per layer (kNoLayer: names without a layer), in order of appearance.
  constexpr int64_t kNoLayer = -1;
  llvm::MapVector<int64_t, LayerEntry> layers;
  llvm::MapVector<StringRef, std::pair<int64_t, int64_t>> summary;

  module.walk([&](Operation *op) {
    std::optional<std::pair<StringRef, json::Object>> fused = describe(op);
    auto reason = op->getAttrOfType<StringAttr>(kUnfusedAttr);
    if (!fused && !reason)
      return;
    llvm::SetVector<StringRef> names;
    collectNames(op->getLoc(), names);
    std::optional<int64_t> layer = layerOf(names.getArrayRef());
    if (!layer) {
      llvm::SetVector<StringRef> scopes;
      collectScopes(op->getLoc(), scopes);
      layer = layerOf(scopes.getArrayRef());
    }
    json::Array nodeList;
    for (StringRef name : names)
      nodeList.push_back(name);
    json::Value node =
        names.empty() ? json::Value(nullptr) : json::Value(names.front());

    StringRef kind;
    json::Object entry;
    if (fused) {
      kind = fused->first;
      entry = json::Object{{"kind", kind},
                           {"fused", true},
                           {"layer", optionalInt(layer)},
                           {"node", std::move(node)},
                           {"nodes", std::move(nodeList)},
                           {"attributes", std::move(fused->second)}};
      layers[layer.value_or(kNoLayer)].fused.push_back(kind);
      ++summary[kind].first;
    } else {
      auto kindAttr = op->getAttrOfType<StringAttr>(kUnfusedKindAttr);
      kind = kindAttr ? kindAttr.getValue() : StringRef("attention");
      entry = json::Object{{"kind", kind},
                           {"fused", false},
                           {"layer", optionalInt(layer)},
                           {"node", std::move(node)},
                           {"nodes", std::move(nodeList)},
                           {"reason", reason.getValue()}};
      layers[layer.value_or(kNoLayer)].unfused.push_back(kind);
      ++summary[kind].second;
    }
    ops.push_back(std::move(entry));
  });

  json::Array layerList;
  for (auto &[layer, entry] : layers)
    layerList.push_back(
        json::Object{{"layer", layer == kNoLayer ? json::Value(nullptr)
                                                 : json::Value(layer)},
                     {"fused", std::move(entry.fused)},
                     {"unfused", std::move(entry.unfused)}});
  json::Object counts;
  for (auto &[kind, n] : summary)
    counts[kind] = json::Object{{"fused", n.first}, {"unfused", n.second}};

  return json::Object{{"model", model},
                      {"opt_level", optLevel},
                      {"target", target},
                      {"ops", std::move(ops)},
                      {"layers", std::move(layerList)},
                      {"summary", std::move(counts)}};
}
