// Kernels.cu - the runtime's CUDA kernel library: one translation unit, so
// one fatbin (embedded by KernelLibrary.cpp, loaded as one module).
#include "FlashAttention.cu"
#include "PagedAttention.cu"
