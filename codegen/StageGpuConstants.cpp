//===- StageGpuConstants.cpp - constants GPU kernels can read -------------===//
//
// Host globals (memref.global) are not device memory. Before kernels are
// outlined, every constant a gpu.launch reads, or whose pointer goes to the
// runtime's cuBLAS product, gets a copy in a buffer the host allocates
// (managed memory on the CUDA target), filled on the host and freed at the
// end of the block that made it. (A constant read through a pointer by the
// runtime's mixed-precision product was missed before, when only
// tessel_cuda_sgemm counted: Llama's rotary `inv_freq @ positions` in f16
// read host memory on the GPU; test/codegen/stage-gpu-constants.mlir.)
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELSTAGEGPUCONSTANTSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// True if `v`, or anything computed from it (a view, its pointer), is used
/// inside a gpu.launch or passed to a runtime function that reads it on the
/// device.
bool usedOnDevice(Value v) {
  SmallVector<Value> work{v};
  DenseSet<Value> seen{v};
  while (!work.empty()) {
    Value x = work.pop_back_val();
    for (Operation *user : x.getUsers()) {
      if (user->getParentOfType<gpu::LaunchOp>())
        return true;
      if (auto call = dyn_cast<func::CallOp>(user);
          call && isRuntimeCudaCall(call.getCallee()))
        return true;
      for (Value result : user->getResults())
        if (seen.insert(result).second)
          work.push_back(result);
    }
  }
  return false;
}

struct TesselStageGpuConstantsPass
    : tessel::impl::TesselStageGpuConstantsPassBase<
          TesselStageGpuConstantsPass> {
  void runOnOperation() override {
    SmallVector<memref::GetGlobalOp> globals;
    getOperation().walk([&](memref::GetGlobalOp op) {
      if (!op->getParentOfType<gpu::LaunchOp>() && usedOnDevice(op))
        globals.push_back(op);
    });
    // Staged once per function and constant, at the start of the function
    // when its body is one block (structured control flow): the copies run
    // before any kernel is queued, so the host need not wait for the
    // device to write them (tessel-async-gpu-launches), and a constant read
    // inside a loop is not copied at every iteration.
    func::FuncOp fn = getOperation();
    bool hoist = fn.getBody().hasOneBlock();
    Block &entry = fn.getBody().front();
    Operation *cursor = nullptr; // the last op staged at the entry
    llvm::StringMap<Value> stagedBySymbol;
    for (memref::GetGlobalOp op : globals) {
      auto type = cast<MemRefType>(op.getType());
      if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
        op.emitError("internal: a constant with a dynamic shape or a "
                     "layout cannot be staged for the GPU");
        return signalPassFailure();
      }
      Location loc = op.getLoc();
      if (hoist) {
        Value &staged = stagedBySymbol[op.getName()];
        if (staged) {
          op.getResult().replaceAllUsesWith(staged);
          op.erase();
          continue;
        }
        if (cursor)
          op->moveAfter(cursor);
        else
          op->moveBefore(&entry, entry.begin());
        OpBuilder b(op);
        b.setInsertionPointAfter(op);
        staged = b.create<memref::AllocOp>(loc, type);
        auto copy = b.create<linalg::CopyOp>(loc, op.getResult(), staged);
        cursor = copy;
        op.getResult().replaceUsesWithIf(
            staged, [&](OpOperand &use) { return use.getOwner() != copy; });
        b.setInsertionPoint(entry.getTerminator());
        b.create<memref::DeallocOp>(loc, staged);
        continue;
      }
      OpBuilder b(op);
      b.setInsertionPointAfter(op);
      Value staged = b.create<memref::AllocOp>(loc, type);
      b.create<linalg::CopyOp>(loc, op.getResult(), staged);
      op.getResult().replaceUsesWithIf(staged, [&](OpOperand &use) {
        return !isa<linalg::CopyOp>(use.getOwner()) ||
               use.getOwner()->getOperand(1) != staged;
      });
      Block *block = op->getBlock();
      b.setInsertionPoint(block->getTerminator());
      b.create<memref::DeallocOp>(loc, staged);
    }
  }
};

} // namespace
