//===- AsyncGpuLaunches.cpp - kernel launches without a wait each ---------===//
//
// The GPU-to-LLVM lowering of a plain gpu.launch_func creates a stream,
// launches, and waits for the kernel: a host round trip per kernel (the
// largest cost of a decode step, where kernels take microseconds). Every
// launch of a CUDA model runs on one stream (the runtime's per-thread
// stream), so launches are ordered among themselves and with the runtime's
// own kernels and cuBLAS calls; the host only has to wait where it touches
// memory that a pending kernel may still read or write. This pass makes
// every launch async and inserts a wait exactly there (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "codegen/LoweringUtils.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELASYNCGPULAUNCHESPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// True if control can come back to `block` (a loop after scf-to-cf): a
/// stack buffer there would grow the stack at every iteration.
bool inCycle(Block *block) {
  SmallVector<Block *> work(block->getSuccessors().begin(),
                            block->getSuccessors().end());
  llvm::SmallPtrSet<Block *, 16> seen;
  while (!work.empty()) {
    Block *b = work.pop_back_val();
    if (b == block)
      return true;
    if (seen.insert(b).second)
      work.append(b->getSuccessors().begin(), b->getSuccessors().end());
  }
  return false;
}

/// True for a small static buffer outside loops that only the host
/// touches (loads, stores, the shape operand of a reshape, its free): shape
/// tensors. It becomes a stack buffer, which no kernel can be using, so its
/// loads and stores need no wait.
bool hostPrivate(memref::AllocOp alloc) {
  MemRefType type = alloc.getType();
  if (inCycle(alloc->getBlock()) || !type.hasStaticShape() ||
      !type.getLayout().isIdentity() || !type.getElementType().isIntOrIndex() ||
      type.getNumElements() > 64)
    return false;
  for (OpOperand &use : alloc->getUses()) {
    Operation *user = use.getOwner();
    if (isa<memref::LoadOp, memref::DeallocOp>(user))
      continue;
    if (auto store = dyn_cast<memref::StoreOp>(user);
        store && store.getMemRef() == alloc.getResult())
      continue;
    if (auto reshape = dyn_cast<memref::ReshapeOp>(user);
        reshape && reshape.getShape() == alloc.getResult())
      continue;
    return false;
  }
  return true;
}

/// True for a load or store no kernel can race with: of a stack buffer, or
/// a load of an argument of the function (inputs and weights: bufferization
/// never writes into them, so kernels only read them).
bool hostSafe(Operation *op) {
  Value memref;
  bool load = false;
  if (auto l = dyn_cast<memref::LoadOp>(op))
    memref = l.getMemRef(), load = true;
  else if (auto store = dyn_cast<memref::StoreOp>(op))
    memref = store.getMemRef();
  if (!memref)
    return false;
  if (memref.getDefiningOp<memref::AllocaOp>())
    return true;
  // Through views of an argument.
  while (Operation *def = memref.getDefiningOp()) {
    if (!isa<memref::SubViewOp, memref::ReinterpretCastOp, memref::CastOp,
             memref::ExpandShapeOp, memref::CollapseShapeOp>(def))
      return false;
    memref = def->getOperand(0);
  }
  auto arg = dyn_cast<BlockArgument>(memref);
  return load && arg && arg.getOwner()->isEntryBlock() &&
         isa<func::FuncOp>(arg.getOwner()->getParentOp());
}

/// True for host ops that may read or write buffer contents (or call code
/// that does), which must see every kernel launched before them finished.
bool touchesMemory(Operation *op, ModuleOp module) {
  if (isa<memref::LoadOp, memref::StoreOp, memref::CopyOp,
          memref::AtomicRMWOp, memref::GenericAtomicRMWOp>(op))
    return true;
  if (auto call = dyn_cast<func::CallOp>(op)) {
    if (isRuntimeCudaCall(call.getCallee()))
      return false;
    // A function of the module waits where it needs to itself.
    auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
    return !callee || callee.isExternal();
  }
  // Anything else with an unknown effect on memory (a call through a
  // pointer, an op of another dialect) waits too.
  if (isa<func::ReturnOp, gpu::LaunchFuncOp, gpu::WaitOp>(op))
    return false;
  if (op->hasTrait<OpTrait::IsTerminator>())
    return false;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return op->getNumRegions() == 0 &&
           !op->hasTrait<OpTrait::HasRecursiveMemoryEffects>();
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  for (const MemoryEffects::EffectInstance &e : list)
    if (isa<MemoryEffects::Read, MemoryEffects::Write>(e.getEffect()))
      return true;
  return false; // allocations and frees are stream-ordered (the pool)
}

/// `%t = gpu.wait async; gpu.wait [%t]`: the host waits for the thread's
/// stream.
void insertWait(OpBuilder &b, Location loc) {
  Type token = b.getType<gpu::AsyncTokenType>();
  Value stream = b.create<gpu::WaitOp>(loc, token, ValueRange{}).getResult(0);
  b.create<gpu::WaitOp>(loc, Type(), ValueRange{stream});
}

struct TesselAsyncGpuLaunchesPass
    : tessel::impl::TesselAsyncGpuLaunchesPassBase<TesselAsyncGpuLaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b(&getContext());
    Type token = b.getType<gpu::AsyncTokenType>();
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      SmallVector<memref::AllocOp> shapes;
      fn.walk([&](memref::AllocOp alloc) {
        if (hostPrivate(alloc))
          shapes.push_back(alloc);
      });
      for (memref::AllocOp alloc : shapes) {
        b.setInsertionPoint(alloc);
        auto stack = b.create<memref::AllocaOp>(alloc.getLoc(), alloc.getType());
        for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
          if (isa<memref::DeallocOp>(user))
            user->erase();
        alloc.replaceAllUsesWith(stack.getResult());
        alloc.erase();
      }
      for (Block &block : fn.getBody()) {
        // Control may enter a block with launches pending, except the entry
        // block of an entry point: the runtime calls it with the stream idle.
        bool pending = !(block.isEntryBlock() && fn.isPublic());
        for (Operation &op : llvm::make_early_inc_range(block)) {
          if (auto launch = dyn_cast<gpu::LaunchFuncOp>(&op)) {
            if (launch.getAsyncToken())
              continue; // already async: left as it is
            b.setInsertionPoint(launch);
            Value stream =
                b.create<gpu::WaitOp>(launch.getLoc(), token, ValueRange{})
                    .getResult(0);
            auto async = b.create<gpu::LaunchFuncOp>(
                launch.getLoc(), launch.getKernelAttr(),
                launch.getGridSizeOperandValues(),
                launch.getBlockSizeOperandValues(),
                launch.getDynamicSharedMemorySize(),
                launch.getKernelOperands(), token, ValueRange{stream},
                launch.hasClusterSize()
                    ? std::optional(launch.getClusterSizeOperandValues())
                    : std::nullopt);
            async->setDiscardableAttrs(launch->getDiscardableAttrDictionary());
            launch.erase();
            pending = true;
            continue;
          }
          if (op.getNumRegions() > 0) {
            // Structured control flow on the host (none is left after
            // scf-to-cf, but be safe): wait before and after it.
            b.setInsertionPoint(&op);
            insertWait(b, op.getLoc());
            b.setInsertionPointAfter(&op);
            insertWait(b, op.getLoc());
            pending = false;
            continue;
          }
          if (pending && !hostSafe(&op) && touchesMemory(&op, module)) {
            b.setInsertionPoint(&op);
            insertWait(b, op.getLoc());
            pending = false;
          }
        }
      }
    }
  }
};

} // namespace
