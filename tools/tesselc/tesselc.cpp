//===- tesselc.cpp - the tessel compiler driver ---------------------------===//
//
// tesselc MODEL.onnx [-o OUT] [--emit=tessel] [-O0..-O3] [--stats]
//                    [--report=FILE.json]
//
// Errors name the file and the ONNX node, exit non-zero and leave no output
// file behind: the output is written to a temporary file beside the target
// and renamed over it only when everything succeeded. The same holds for the
// fusion report (FusionReport.h), written last.
//
//===----------------------------------------------------------------------===//

#include "FusionReport.h"
#include "codegen/CpuPipeline.h"
#include "codegen/CudaPipeline.h"
#include "codegen/ModelEmitter.h"
#include "codegen/Passes.h"
#include "frontend/OnnxImporter.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/ADT/Statistic.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir;
namespace cl = llvm::cl;

namespace {
enum class EmitKind { Tessel, Linalg, LLVM, PTX, Lib };

cl::OptionCategory category("tesselc options");

cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx>"),
                               cl::cat(category));
cl::opt<std::string> outputPath("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("path"), cl::init("-"),
                                cl::cat(category));
cl::opt<EmitKind> emit(
    "emit", cl::desc("What to produce (default: lib)"),
    cl::init(EmitKind::Lib),
    cl::values(clEnumValN(EmitKind::Tessel, "tessel",
                          "the tessel IR after the graph pipeline"),
               clEnumValN(EmitKind::Linalg, "linalg",
                          "linalg on tensors (before the target lowering)"),
               clEnumValN(EmitKind::LLVM, "llvm",
                          "the LLVM dialect (host code and, for CUDA, the "
                          "kernels' PTX)"),
               clEnumValN(EmitKind::PTX, "ptx",
                          "the kernels' PTX (--target=cuda)"),
               clEnumValN(EmitKind::Lib, "lib",
                          "model.so + model.weights (needs -o)")),
    cl::cat(category));
cl::opt<std::string> target("target",
                            cl::desc("Code generation target (default: cpu)"),
                            cl::init("cpu"), cl::cat(category));
cl::opt<char> optLevel("O", cl::Prefix, cl::init('2'),
                       cl::desc("Optimisation level: -O0 (raw import) to -O3"),
                       cl::cat(category));
cl::opt<bool> keepWeights(
    "print-weights",
    cl::desc("Print weight blobs in full (default: elide blobs over 1 KiB)"),
    cl::cat(category));
cl::opt<bool> useBlas(
    "blas", cl::init(true),
    cl::desc("f32 matrix products call OpenBLAS (CPU) or cuBLAS (CUDA); "
             "--blas=false: generated loops / kernels"),
    cl::cat(category));
cl::opt<bool> asyncLaunches(
    "cuda-async-launches", cl::init(true),
    cl::desc("CUDA: launches do not wait for their kernel (the host waits "
             "only where it touches memory); =false: wait after every "
             "launch"),
    cl::cat(category));
cl::opt<std::string> gpuArch(
    "gpu-arch", cl::init("sm_80"),
    cl::desc("CUDA: the oldest GPU to generate PTX for (default sm_80; the "
             "driver compiles the PTX for newer GPUs such as sm_90)"),
    cl::cat(category));
cl::opt<std::string> cpu(
    "cpu", cl::init("native"),
    cl::desc("CPU to generate code for: native (this machine, default) or "
             "an LLVM CPU name, e.g. x86-64-v3 for any AVX2 machine"),
    cl::cat(category));
cl::opt<std::string> reportPath(
    "report",
    cl::desc("Write a JSON report of what the graph pipeline fused (per "
             "layer: attention, norms, activations, rotary embeddings, and "
             "why a block stayed unfused) to this file"),
    cl::value_desc("file.json"), cl::cat(category));
cl::opt<bool> kvCache(
    "kv-cache",
    cl::desc("Also emit `prefill` and `decode` entry points over the "
             "runtime's paged KV cache (causal decoders; needs -O1 or more)"),
    cl::cat(category));
cl::opt<std::string> precision(
    "precision", cl::init("fp32"),
    cl::desc("Precision of weights and activations: fp32 (default), fp16 or "
             "bf16 (products, sums and norms accumulate in f32; inputs and "
             "outputs stay f32)"),
    cl::cat(category));
cl::opt<bool> printSupportedOps(
    "print-supported-ops",
    cl::desc("Print the table of supported ONNX ops (Markdown) and exit"),
    cl::cat(category));

/// The PTX of every kernel module (gpu.binary objects), one after the other,
/// each preceded by a comment with the module's name.
std::string collectPtx(ModuleOp module) {
  std::string text;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects()) {
      auto object = dyn_cast<gpu::ObjectAttr>(attr);
      if (!object)
        continue;
      text += "// kernel module " + binary.getSymName().str() + "\n";
      // PTX objects end with the NUL the driver wants; not in a text file.
      text += object.getObject().getValue().rtrim(StringRef("\0", 1)).str();
      if (!text.empty() && text.back() != '\n')
        text += "\n";
    }
  });
  return text;
}

/// "<file>: error: node 'n': message" for node locations, "<file>: error:
/// message" for file locations.
void printDiagnostic(Diagnostic &diag) {
  std::string file, node;
  Location loc = diag.getLocation();
  if (auto name = dyn_cast<NameLoc>(loc)) {
    node = name.getName().str();
    loc = name.getChildLoc();
  }
  if (auto fileLoc = dyn_cast<FileLineColLoc>(loc)) {
    file = fileLoc.getFilename().str();
    if (fileLoc.getLine() != 0)
      file += ":" + std::to_string(fileLoc.getLine()) + ":" +
              std::to_string(fileLoc.getColumn());
  }
  llvm::raw_ostream &os = llvm::errs();
  if (!file.empty())
    os << file << ": ";
  else
    os << "tesselc: ";
  switch (diag.getSeverity()) {
  case DiagnosticSeverity::Error:
    os << "error: ";
    break;
  case DiagnosticSeverity::Warning:
    os << "warning: ";
    break;
  default:
    os << "note: ";
    break;
  }
  if (!node.empty())
    os << "node '" << node << "': ";
  os << diag.str() << "\n";
  for (Diagnostic &note : diag.getNotes())
    os << "  note: " << note.str() << "\n";
}

using OpCounts = std::map<std::string, int64_t>;

OpCounts countOps(ModuleOp module) {
  OpCounts counts;
  module.walk([&](Operation *op) {
    if (!isa<ModuleOp, func::FuncOp, func::ReturnOp>(op))
      ++counts[op->getName().getStringRef().str()];
  });
  return counts;
}

void printOpCounts(const OpCounts &before, const OpCounts &after) {
  OpCounts all = before;
  for (auto &[name, n] : after)
    all.emplace(name, 0);
  auto get = [](const OpCounts &m, const std::string &k) -> int64_t {
    auto it = m.find(k);
    return it == m.end() ? 0 : it->second;
  };
  int64_t totalBefore = 0, totalAfter = 0;
  llvm::errs() << llvm::format("%-32s %8s %8s\n", (const char *)"op", (const char *)"before", (const char *)"after");
  for (auto &[name, n] : all) {
    int64_t b = get(before, name), a = get(after, name);
    totalBefore += b;
    totalAfter += a;
    llvm::errs() << llvm::format("%-32s %8lld %8lld\n", name.c_str(),
                                 (long long)b, (long long)a);
  }
  llvm::errs() << llvm::format("%-32s %8lld %8lld\n", (const char *)"total",
                               (long long)totalBefore, (long long)totalAfter);
}

/// Writes `text` to `path` atomically: a temporary beside it, then rename.
/// `what` names the file in messages ("output", "report").
LogicalResult writeOutput(StringRef path, StringRef text,
                          StringRef what = "output") {
  if (path == "-") {
    llvm::outs() << text;
    llvm::outs().flush();
    return success();
  }
  SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  SmallString<256> model(dir);
  llvm::sys::path::append(model, ".tesselc-%%%%%%%%.tmp");
  int fd;
  SmallString<256> temp;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(model, fd, temp)) {
    llvm::errs() << "tesselc: error: cannot write " << what << " '" << path
                 << "': " << ec.message() << "\n";
    return failure();
  }
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << text;
    os.close();
    if (os.has_error()) {
      llvm::errs() << "tesselc: error: cannot write " << what << " '" << path
                   << "': " << os.error().message() << "\n";
      os.clear_error();
      llvm::sys::fs::remove(temp);
      return failure();
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(temp, path)) {
    llvm::errs() << "tesselc: error: cannot write " << what << " '" << path
                 << "': " << ec.message() << "\n";
    llvm::sys::fs::remove(temp);
    return failure();
  }
  return success();
}

int run() {
  if (printSupportedOps) {
    llvm::outs() << tessel::renderSupportedOpsMarkdown();
    return 0;
  }
  if (inputPath.empty()) {
    llvm::errs() << "tesselc: error: no input model (usage: tesselc "
                    "model.onnx [-o out] [--emit=tessel] [-O0..-O3])\n";
    return 1;
  }
  if (optLevel < '0' || optLevel > '3') {
    llvm::errs() << "tesselc: error: unknown optimisation level -O"
                 << optLevel.getValue() << " (expected -O0 to -O3)\n";
    return 1;
  }

  if (target != "cpu" && target != "cuda") {
    llvm::errs() << "tesselc: error: unknown target '" << target
                 << "' (expected --target=cpu or --target=cuda)\n";
    return 1;
  }
  bool cuda = target == "cuda";
  if (kvCache && optLevel == '0') {
    llvm::errs() << "tesselc: error: --kv-cache needs fused attention: use "
                    "-O1 or more\n";
    return 1;
  }
  if (precision != "fp32" && precision != "fp16" && precision != "bf16") {
    llvm::errs() << "tesselc: error: unknown precision '" << precision
                 << "' (expected --precision=fp32, fp16 or bf16)\n";
    return 1;
  }
  if (emit == EmitKind::PTX && !cuda) {
    llvm::errs() << "tesselc: error: --emit=ptx needs --target=cuda\n";
    return 1;
  }
  if (emit == EmitKind::Lib && outputPath == "-") {
    llvm::errs() << "tesselc: error: --emit=lib writes model.so and "
                    "model.weights: give the path with -o\n";
    return 1;
  }

  // Every dialect the pipelines may create, with the interface models
  // (bufferization, LLVM translation) that live in extensions.
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // gpu-module-to-binary translates kernel modules to LLVM IR.
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);
  context.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler handler(&context, [](Diagnostic &diag) {
    printDiagnostic(diag);
    return success();
  });

  OwningOpRef<ModuleOp> module = tessel::importOnnxFile(&context, inputPath);
  if (!module)
    return 1;
  OpCounts before = countOps(*module);

  tessel::CompileOptions options;
  options.optLevel = optLevel - '0';
  options.kvCache = kvCache;
  options.precision = precision;
  // The CUDA runtime's paged cache stores the model's precision.
  options.narrowKvCache = cuda;
  PassManager pm(&context);
  tessel::buildGraphPipeline(pm, options);
  if (failed(pm.run(*module)))
    return 1;

  // `--stats` is LLVM's own flag (registered by libLLVM); tesselc reads it
  // to print op counts before/after the pipeline.
  if (llvm::AreStatisticsEnabled())
    printOpCounts(before, countOps(*module));

  // The fusion report describes the graph as the pipeline left it, with the
  // attention tile sizes the CPU pipeline chooses: its first pass
  // (tessel-tile-attention) runs here on a copy, since the ops are lowered
  // by the time a library is written.
  std::string report;
  if (!reportPath.empty()) {
    OwningOpRef<ModuleOp> copy = module->clone();
    PassManager tiles(&context);
    tiles.addNestedPass<func::FuncOp>(tessel::createTesselTileAttentionPass());
    if (failed(tiles.run(*copy)))
      return 1;
    report = llvm::formatv("{0:2}\n",
                           llvm::json::Value(tessel::buildFusionReport(
                               *copy, inputPath, options.optLevel, target)));
  }
  // The report is written last, once the compilation succeeded.
  auto finish = [&](bool ok) {
    if (!ok)
      return 1;
    if (!reportPath.empty() &&
        failed(writeOutput(reportPath, report, "report")))
      return 1;
    return 0;
  };

  if (emit != EmitKind::Tessel) {
    auto signature = tessel::describeModel(*module);
    if (failed(signature))
      return 1;
    PassManager linalg(&context);
    if (cuda)
      tessel::buildCudaLinalgPipeline(linalg);
    else
      tessel::buildCpuLinalgPipeline(linalg);
    if (failed(linalg.run(*module)))
      return 1;
    if (emit != EmitKind::Linalg) {
      tessel::prepareEntryPoint(*module);
      PassManager llvmPm(&context);
      if (cuda) {
        tessel::CudaPipelineOptions cudaOptions;
        cudaOptions.chip = gpuArch;
        cudaOptions.libdevice = tessel::findLibdevice();
        cudaOptions.useCublas = useBlas;
        cudaOptions.asyncLaunches = asyncLaunches;
        tessel::buildCudaLLVMPipeline(llvmPm, cudaOptions);
      } else {
        tessel::CpuPipelineOptions cpuOptions;
        cpuOptions.useBlas = useBlas;
        tessel::buildCpuLLVMPipeline(llvmPm, cpuOptions);
      }
      if (failed(llvmPm.run(*module)))
        return 1;
    }
    if (emit == EmitKind::PTX)
      return finish(succeeded(writeOutput(outputPath, collectPtx(*module))));
    if (emit == EmitKind::Lib)
      return finish(succeeded(tessel::emitModel(
          *module, *signature, outputPath, options.optLevel == 0 ? 1 : 3,
          cpu, target)));
  }

  std::string text;
  llvm::raw_string_ostream os(text);
  OpPrintingFlags flags;
  if (!keepWeights)
    flags.elideLargeResourceString(1024);
  module->print(os, flags);
  return finish(succeeded(writeOutput(outputPath, text)));
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  // Shown in --help with our options: LLVM registers it, tesselc gives it a
  // meaning (op counts before/after the pipeline, to stderr).
  if (auto *stats = cl::getRegisteredOptions().lookup("stats")) {
    stats->setDescription("Print op counts before/after the pipeline (stderr)");
    stats->addCategory(category);
  }
  cl::ParseCommandLineOptions(argc, argv, "tessel: ONNX model compiler\n");
  return run();
}
