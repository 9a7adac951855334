//===- ModelEmitter.cpp - model.so + model.weights emission ---------------===//
//
// The last step of the CPU target: LLVM dialect -> LLVM IR -> object ->
// shared object, plus the weights file, following docs/model-abi.md.
//
//===----------------------------------------------------------------------===//

#include "codegen/ModelEmitter.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/AsmState.h"
#include <unistd.h>
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::tessel;

//===----------------------------------------------------------------------===//
// Signature
//===----------------------------------------------------------------------===//

static std::string dtypeName(Type t) {
  if (t.isF32())
    return "f32";
  if (t.isF64())
    return "f64";
  if (t.isF16())
    return "f16";
  if (t.isBF16())
    return "bf16";
  if (t.isInteger(1))
    return "bool";
  if (auto i = dyn_cast<IntegerType>(t)) {
    if (i.getWidth() != 8 && i.getWidth() != 16 && i.getWidth() != 32 &&
        i.getWidth() != 64)
      return "";
    return (i.isUnsigned() ? "u" : "i") + std::to_string(i.getWidth());
  }
  return "";
}

static std::string escapeName(StringRef name) {
  std::string out;
  for (unsigned char c : name) {
    if (c <= 0x20 || c == '%' || c >= 0x7f)
      out += llvm::formatv("%{0:X2}", (unsigned)c).str();
    else
      out += c;
  }
  return out;
}

/// The functions exported besides @main, in module order.
static SmallVector<func::FuncOp> extraEntries(ModuleOp module) {
  SmallVector<func::FuncOp> entries;
  for (auto fn : module.getOps<func::FuncOp>())
    if (fn.getName() != "main" && fn->hasAttr("tessel.entry") &&
        !fn.isExternal())
      entries.push_back(fn);
  return entries;
}

static LogicalResult describeFunction(func::FuncOp fn,
                                      std::vector<TensorSignature> &inputs,
                                      std::vector<TensorSignature> &outputs) {
  auto describe = [&](Type type, DictionaryAttr attrs, StringRef kind,
                      unsigned index,
                      std::vector<TensorSignature> &into) -> LogicalResult {
    auto tensor = dyn_cast<RankedTensorType>(type);
    std::string dtype = tensor ? dtypeName(tensor.getElementType()) : "";
    if (!tensor || dtype.empty())
      return fn.emitError() << kind << " " << index << " has type " << type
                            << ", which the model ABI cannot pass";
    TensorSignature sig;
    auto name = attrs ? attrs.getAs<StringAttr>("tessel.name") : StringAttr();
    sig.name = name ? name.str() : (kind + std::to_string(index)).str();
    sig.dtype = dtype;
    for (int64_t d : tensor.getShape())
      sig.dims.push_back(ShapedType::isDynamic(d) ? -1 : d);
    into.push_back(std::move(sig));
    return success();
  };
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (failed(describe(fn.getArgumentTypes()[i], fn.getArgAttrDict(i),
                        "input", i, inputs)))
      return failure();
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    if (failed(describe(fn.getResultTypes()[i], fn.getResultAttrDict(i),
                        "output", i, outputs)))
      return failure();
  return success();
}

FailureOr<ModelSignature> mlir::tessel::describeModel(ModuleOp module) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module.emitError("the module has no func.func @main");
  ModelSignature signature;
  if (failed(describeFunction(main, signature.inputs, signature.outputs)))
    return failure();
  for (func::FuncOp fn : extraEntries(module)) {
    EntrySignature entry;
    entry.name = fn.getName().str();
    if (failed(describeFunction(fn, entry.inputs, entry.outputs)))
      return failure();
    signature.entries.push_back(std::move(entry));
  }
  if (auto kv = module->getAttrOfType<DictionaryAttr>("tessel.kv_cache")) {
    KvCacheSignature cache;
    auto get = [&](StringRef key) {
      auto attr = kv.getAs<IntegerAttr>(key);
      return attr ? attr.getInt() : 0;
    };
    cache.layers = get("num_layers");
    cache.kvHeads = get("num_kv_heads");
    cache.headDim = get("head_dim");
    cache.windowLeft = get("window_left");
    auto dtype = kv.getAs<TypeAttr>("dtype");
    cache.dtype = dtype ? dtypeName(dtype.getValue()) : "";
    if (cache.layers <= 0 || cache.kvHeads <= 0 || cache.headDim <= 0 ||
        cache.dtype.empty())
      return module.emitError("malformed tessel.kv_cache attribute ") << kv;
    signature.kvCache = cache;
  }
  return signature;
}

void mlir::tessel::prepareEntryPoint(ModuleOp module) {
  SmallVector<func::FuncOp> entries = extraEntries(module);
  if (auto main = module.lookupSymbol<func::FuncOp>("main"))
    entries.insert(entries.begin(), main);
  for (func::FuncOp fn : entries) {
    fn->setAttr("llvm.emit_c_interface", UnitAttr::get(module.getContext()));
    // Names were captured by describeModel; LLVM has no use for them.
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      fn.removeArgAttr(i, "tessel.name");
    for (unsigned i = 0; i < fn.getNumResults(); ++i)
      fn.removeResultAttr(i,
                          StringAttr::get(module.getContext(), "tessel.name"));
  }
}

uint64_t mlir::tessel::weightsChecksum(ArrayRef<char> data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t w;
    memcpy(&w, data.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
  }
  if (i < data.size()) {
    uint64_t w = 0;
    memcpy(&w, data.data() + i, data.size() - i);
    h = (h ^ w) * 0x100000001b3ULL;
  }
  return h;
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

namespace {
/// A temporary file beside `target`, removed unless committed by rename.
class PendingFile {
public:
  PendingFile() = default;
  PendingFile(const PendingFile &) = delete;
  ~PendingFile() {
    if (!temp.empty())
      llvm::sys::fs::remove(temp);
  }

  std::error_code create(StringRef targetPath) {
    target = targetPath.str();
    SmallString<256> model(targetPath);
    model += ".tmp-%%%%%%%%";
    return llvm::sys::fs::createUniqueFile(model, fd, temp);
  }
  int takeFd() {
    int f = fd;
    fd = -1;
    return f;
  }
  StringRef path() const { return temp; }
  std::error_code commit() {
    std::error_code ec = llvm::sys::fs::rename(temp, target);
    if (!ec)
      temp.clear();
    return ec;
  }

private:
  SmallString<256> temp;
  std::string target;
  int fd = -1;
};

/// The weights listed by tessel-outline-weights, in offset order.
struct WeightsImage {
  std::vector<char> data;
};

FailureOr<WeightsImage> buildWeightsImage(ModuleOp module) {
  WeightsImage image;
  auto list = module->getAttrOfType<ArrayAttr>(kWeightsAttrName);
  if (!list)
    return image;
  for (Attribute entry : list) {
    auto dict = cast<DictionaryAttr>(entry);
    int64_t offset = dict.getAs<IntegerAttr>("offset").getInt();
    auto value = dict.getAs<DenseResourceElementsAttr>("value");
    AsmResourceBlob *blob = value ? value.getRawHandle().getBlob() : nullptr;
    if (!blob)
      return module.emitError("weight '")
             << dict.getAs<StringAttr>("name").getValue()
             << "' has no data (its blob was elided?)";
    ArrayRef<char> bytes = blob->getData();
    if ((int64_t)image.data.size() < offset)
      image.data.resize(offset, 0);
    image.data.insert(image.data.end(), bytes.begin(), bytes.end());
  }
  module->removeAttr(kWeightsAttrName);
  return image;
}

LogicalResult writeWeightsFile(ModuleOp module, const WeightsImage &image,
                               PendingFile &file, StringRef targetPath,
                               uint64_t checksum) {
  if (std::error_code ec = file.create(targetPath))
    return module.emitError("cannot write '") << targetPath
                                              << "': " << ec.message();
  llvm::raw_fd_ostream os(file.takeFd(), /*shouldClose=*/true);
  char header[4096] = {};
  memcpy(header, "TSLWGT01", 8);
  uint64_t size = image.data.size();
  memcpy(header + 8, &size, 8);
  memcpy(header + 16, &checksum, 8);
  os.write(header, sizeof(header));
  os.write(image.data.data(), image.data.size());
  os.close();
  if (os.has_error()) {
    std::string message = os.error().message();
    os.clear_error();
    return module.emitError("cannot write '") << targetPath << "': " << message;
  }
  return success();
}

std::string renderManifest(const ModelSignature &signature,
                           StringRef weightsName, uint64_t weightsSize,
                           uint64_t checksum, StringRef target) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "tessel-model 1\ntarget " << target << "\n";
  if (weightsName.empty())
    os << "weights - 0 0\n";
  else
    os << "weights " << escapeName(weightsName) << " " << weightsSize << " "
       << llvm::format_hex_no_prefix(checksum, 16) << "\n";
  auto record = [&](StringRef kind, const TensorSignature &t) {
    os << kind << " " << escapeName(t.name) << " " << t.dtype << " "
       << t.dims.size();
    for (int64_t d : t.dims)
      os << " " << d;
    os << "\n";
  };
  for (const auto &t : signature.inputs)
    record("input", t);
  for (const auto &t : signature.outputs)
    record("output", t);
  if (const auto &kv = signature.kvCache)
    os << "kv-cache " << kv->layers << " " << kv->kvHeads << " " << kv->headDim
       << " " << kv->dtype << " " << kv->windowLeft << "\n";
  for (const auto &entry : signature.entries) {
    os << "entry " << escapeName(entry.name) << "\n";
    std::string prefix = "entry-input " + escapeName(entry.name);
    for (const auto &t : entry.inputs)
      record(prefix, t);
    prefix = "entry-output " + escapeName(entry.name);
    for (const auto &t : entry.outputs)
      record(prefix, t);
  }
  return text;
}

/// Adds the ABI symbols: version, manifest, and tessel_model_run(void **).
LogicalResult addAbiSymbols(llvm::Module &module, StringRef manifest,
                            ArrayRef<std::string> entryNames,
                            ModuleOp diagnostics) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Function *entry = module.getFunction("_mlir_ciface_main");
  if (!entry)
    return diagnostics.emitError("internal: no C interface for @main");
  auto *i32 = llvm::Type::getInt32Ty(ctx);
  new llvm::GlobalVariable(module, i32, /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantInt::get(i32, 1),
                           "tessel_model_abi_version");
  llvm::Constant *text = llvm::ConstantDataArray::getString(ctx, manifest);
  new llvm::GlobalVariable(module, text->getType(), true,
                           llvm::GlobalValue::ExternalLinkage, text,
                           "tessel_model_manifest");

  auto *ptr = llvm::PointerType::getUnqual(ctx);
  auto *runType =
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr}, false);
  // `symbol(void **args)` unpacks args into the C interface of `target`.
  auto addWrapper = [&](llvm::Function *target, StringRef symbol) {
    auto *run = llvm::Function::Create(
        runType, llvm::GlobalValue::ExternalLinkage, symbol, module);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", run));
    SmallVector<llvm::Value *> args;
    for (unsigned i = 0; i < target->arg_size(); ++i) {
      llvm::Value *slot = b.CreateConstGEP1_64(ptr, run->getArg(0), i);
      args.push_back(b.CreateLoad(ptr, slot));
    }
    b.CreateCall(target, args);
    b.CreateRetVoid();
  };
  addWrapper(entry, "tessel_model_run");
  llvm::StringSet<> abi = {"tessel_model_abi_version", "tessel_model_manifest",
                           "tessel_model_run"};
  for (StringRef name : entryNames) {
    llvm::Function *target = module.getFunction(("_mlir_ciface_" + name).str());
    if (!target)
      return diagnostics.emitError("internal: no C interface for @") << name;
    std::string symbol = ("tessel_model_entry_" + name).str();
    addWrapper(target, symbol);
    abi.insert(symbol);
  }

  // Only the ABI symbols leave the library: a host program's own `main`
  // must never be confused with the model's, and internal code inlines.
  auto isAbi = [&](StringRef name) { return abi.contains(name); };
  for (llvm::Function &f : module)
    if (!f.isDeclaration() && !isAbi(f.getName()))
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  // llvm.global_ctors / dtors (a CUDA model loads its kernels from them)
  // keep their appending linkage.
  for (llvm::GlobalVariable &g : module.globals())
    if (!g.isDeclaration() && !isAbi(g.getName()) &&
        !g.getName().starts_with("llvm."))
      g.setLinkage(llvm::GlobalValue::InternalLinkage);
  return success();
}

LogicalResult optimize(llvm::Module &module, llvm::TargetMachine &tm,
                       unsigned optLevel) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = optLevel > 1;
  tuning.SLPVectorization = optLevel > 1;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel == 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = optLevel == 0
                                    ? pb.buildO0DefaultPipeline(level)
                                    : pb.buildPerModuleDefaultPipeline(level);
  mpm.run(module, mam);
  return success();
}
} // namespace

LogicalResult mlir::tessel::emitModel(ModuleOp module,
                                      const ModelSignature &signature,
                                      StringRef outputPath, unsigned optLevel,
                                      StringRef cpu, StringRef modelTarget) {
  bool cuda = modelTarget == "cuda";
  auto image = buildWeightsImage(module);
  if (failed(image))
    return failure();

  // The weights file sits beside the library: model.so -> model.weights.
  SmallString<256> weightsPath(outputPath);
  llvm::sys::path::replace_extension(weightsPath, ".weights");
  PendingFile weightsFile;
  uint64_t checksum = 0;
  std::string weightsName;
  if (!image->data.empty()) {
    checksum = weightsChecksum(image->data);
    weightsName = llvm::sys::path::filename(weightsPath).str();
    if (failed(writeWeightsFile(module, *image, weightsFile, weightsPath,
                                checksum)))
      return failure();
  }

  std::vector<std::string> entryNames;
  for (const auto &entry : signature.entries)
    entryNames.push_back(entry.name);

  // LLVM IR.
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  if (cuda) {
    // gpu.binary / gpu.launch_func: the PTX as a global, loaded by a
    // constructor through the runtime's mgpuModuleLoad.
    DialectRegistry registry;
    registerGPUDialectTranslation(registry);
    registerNVVMDialectTranslation(registry);
    gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
    module.getContext()->appendDialectRegistry(registry);
  }
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "tessel_model");
  if (!llvmModule)
    return module.emitError("translation to LLVM IR failed");
  if (failed(addAbiSymbols(*llvmModule,
                           renderManifest(signature, weightsName,
                                          image->data.size(), checksum,
                                          modelTarget),
                           entryNames, module)))
    return failure();

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getProcessTriple();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return module.emitError("no LLVM target for ") << triple << ": " << error;
  // "native": this machine's CPU and features; otherwise an LLVM CPU name
  // (e.g. x86-64-v3) whose features LLVM knows.
  llvm::SubtargetFeatures features;
  std::string cpuName = cpu.str();
  if (cpu == "native") {
    cpuName = llvm::sys::getHostCPUName().str();
    for (auto &feature : llvm::sys::getHostCPUFeatures())
      features.AddFeature(feature.first(), feature.second);
  } else {
    std::unique_ptr<llvm::MCSubtargetInfo> info(
        target->createMCSubtargetInfo(triple, "", ""));
    if (!info || !info->isCPUStringValid(cpuName))
      return module.emitError("unknown CPU '") << cpu << "' for " << triple;
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpuName, features.getString(), options,
      llvm::Reloc::PIC_, std::nullopt,
      optLevel > 1 ? llvm::CodeGenOptLevel::Aggressive
                   : llvm::CodeGenOptLevel::Default));
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(tm->createDataLayout());
  if (llvm::verifyModule(*llvmModule, &llvm::errs()))
    return module.emitError("internal: the generated LLVM IR does not verify");
  if (failed(optimize(*llvmModule, *tm, optLevel)))
    return failure();

  // Object file, then link it into a shared object with the system driver.
  PendingFile object;
  if (std::error_code ec = object.create(outputPath.str() + ".o"))
    return module.emitError("cannot write '") << outputPath << "': "
                                              << ec.message();
  {
    llvm::raw_fd_ostream os(object.takeFd(), /*shouldClose=*/true);
    llvm::legacy::PassManager codegen;
    if (tm->addPassesToEmitFile(codegen, os, nullptr,
                                llvm::CodeGenFileType::ObjectFile))
      return module.emitError("internal: LLVM cannot emit an object file");
    codegen.run(*llvmModule);
    os.close();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error();
      return module.emitError("cannot write '") << outputPath << "': "
                                                << message;
    }
  }

  PendingFile library;
  if (std::error_code ec = library.create(outputPath))
    return module.emitError("cannot write '") << outputPath << "': "
                                              << ec.message();
  ::close(library.takeFd());
  auto linker = llvm::sys::findProgramByName("cc");
  if (!linker)
    return module.emitError("cannot link '")
           << outputPath << "': no C compiler driver `cc` on PATH";
  // A CUDA model's mgpu* and _mlir_memref_to_llvm_* come from libtessel_rt
  // when the runtime loads it (undefined here).
  SmallVector<StringRef> argv = {*linker, "-shared", "-o", library.path(),
                                 object.path()};
  if (!cuda)
    argv.push_back("-lopenblas");
  argv.push_back("-lm");
  std::string linkError;
  SmallString<256> linkLog;
  llvm::sys::fs::createTemporaryFile("tesselc-link", "log", linkLog);
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(linkLog),
                                          StringRef(linkLog)};
  int rc = llvm::sys::ExecuteAndWait(*linker, argv, std::nullopt, redirects, 0,
                                     0, &linkError);
  if (rc != 0) {
    auto log = llvm::MemoryBuffer::getFile(linkLog);
    llvm::sys::fs::remove(linkLog);
    return module.emitError("linking '")
           << outputPath << "' failed: "
           << (log ? (*log)->getBuffer().str() : linkError);
  }
  llvm::sys::fs::remove(linkLog);

  if (!image->data.empty())
    if (std::error_code ec = weightsFile.commit())
      return module.emitError("cannot write '") << weightsPath << "': "
                                                << ec.message();
  if (std::error_code ec = library.commit())
    return module.emitError("cannot write '") << outputPath << "': "
                                              << ec.message();
  return success();
}
