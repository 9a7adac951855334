//===- tessel-opt.cpp - mlir-opt with tessel registered -------------------===//

#include "dialect/TesselOps.h"
#include "codegen/CpuPipeline.h"
#include "codegen/CudaPipeline.h"
#include "codegen/Passes.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::tessel::registerTesselPasses();
  mlir::tessel::registerTesselCodegenPasses();
  mlir::tessel::registerTesselPipelines();
  mlir::tessel::registerCpuPipelines();
  mlir::tessel::registerCudaPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::tessel::TesselDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "tessel optimizer driver\n", registry));
}
