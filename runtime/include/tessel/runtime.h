/*===- tessel/runtime.h - The tessel runtime C API ------------------------===*
 *
 * libtessel_rt loads a model compiled by `tesselc -o model.so` (see
 * docs/model-abi.md), checks its weights file, and runs it on tensors.
 *
 * Conventions
 *   - Handles (tessel_model, tessel_tensor) are opaque; every object a
 *     `*_create`/`*_load`/`*_wrap`/`*_run` call hands out is released with
 *     the matching `*_free`, which accepts NULL.
 *   - Every call that can fail returns a tessel_status. On failure the
 *     out-parameters are left NULL/zero and tessel_last_error() describes
 *     what went wrong. Accessors that cannot fail on a valid handle (counts,
 *     getters) return their value directly; given NULL they return 0/NULL.
 *   - No C++ exception ever leaves this API; an allocation failure inside
 *     it is reported as TESSEL_OUT_OF_MEMORY.
 *   - Thread safety: distinct handles may be used from distinct threads
 *     freely. A loaded model may be run from several threads at once (the
 *     runtime keeps no per-run state in it). A tensor must not be freed
 *     while another thread uses it.
 *
 *===----------------------------------------------------------------------===*/

#ifndef TESSEL_RUNTIME_H
#define TESSEL_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#if defined(TESSEL_RT_BUILDING)
#define TESSEL_RT_API __attribute__((visibility("default")))
#else
#define TESSEL_RT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The model.so ABI version this runtime loads (docs/model-abi.md). */
#define TESSEL_MODEL_ABI_VERSION 1

/*===----------------------------------------------------------------------===*
 * Status
 *===----------------------------------------------------------------------===*/

typedef enum tessel_status {
  TESSEL_OK = 0,
  /* A NULL handle or pointer, a bad index, a negative dim, ... */
  TESSEL_INVALID_ARGUMENT = 1,
  /* A file could not be found, opened, read, mapped or loaded. */
  TESSEL_IO_ERROR = 2,
  /* The file is not a tessel model (not a shared object, or it does not
   * export tessel_model_abi_version). */
  TESSEL_NOT_A_MODEL = 3,
  /* A tessel model of another ABI version, or one that breaks the ABI
   * (missing symbol, malformed manifest). */
  TESSEL_ABI_MISMATCH = 4,
  /* The weights file is missing, has a bad magic, the wrong size, or a
   * checksum that does not match. */
  TESSEL_WEIGHTS_ERROR = 5,
  /* A tensor's element type is not the one the model expects. */
  TESSEL_DTYPE_MISMATCH = 6,
  /* A tensor's rank or a static dim is not the one the model expects. */
  TESSEL_SHAPE_MISMATCH = 7,
  TESSEL_OUT_OF_MEMORY = 8,
  /* A bug in tessel or in the compiled model. */
  TESSEL_INTERNAL = 9,
  /* A CUDA model on a machine without a usable GPU or driver, or a CUDA
   * error (the message says which; after one, CUDA models of this process
   * keep failing, CPU models still run). */
  TESSEL_DEVICE_ERROR = 10,
  /* The KV cache has no free block left for the step: free or preempt a
   * sequence (tessel_sequence_preempt) and retry. Nothing was changed. */
  TESSEL_KV_CACHE_FULL = 11,
} tessel_status;

/* "ok", "invalid argument", ...; "unknown status" for other values. The
 * string is static. */
TESSEL_RT_API const char *tessel_status_string(tessel_status status);

/* The message of the last call that failed on the calling thread, or "" if
 * none has. Successful calls do not clear it. The string is owned by the
 * runtime and stays valid until the next failing call on this thread. */
TESSEL_RT_API const char *tessel_last_error(void);

/*===----------------------------------------------------------------------===*
 * Element types
 *===----------------------------------------------------------------------===*/

typedef enum tessel_dtype {
  TESSEL_DTYPE_INVALID = 0,
  TESSEL_DTYPE_F32 = 1,
  TESSEL_DTYPE_F64 = 2,
  TESSEL_DTYPE_F16 = 3,
  TESSEL_DTYPE_BF16 = 4,
  TESSEL_DTYPE_I8 = 5,
  TESSEL_DTYPE_I16 = 6,
  TESSEL_DTYPE_I32 = 7,
  TESSEL_DTYPE_I64 = 8,
  TESSEL_DTYPE_U8 = 9,
  TESSEL_DTYPE_U16 = 10,
  TESSEL_DTYPE_U32 = 11,
  TESSEL_DTYPE_U64 = 12,
  TESSEL_DTYPE_BOOL = 13, /* one byte per element, 0 or 1 */
} tessel_dtype;

/* Bytes per element (bool: 1); 0 for TESSEL_DTYPE_INVALID or an unknown
 * value. */
TESSEL_RT_API size_t tessel_dtype_size(tessel_dtype dtype);

/* The manifest spelling: "f32", "i64", "bool", ...; "invalid" for an unknown
 * value. The string is static. */
TESSEL_RT_API const char *tessel_dtype_name(tessel_dtype dtype);

/* The dtype spelled `name` in the manifest ("f32", ...), or
 * TESSEL_DTYPE_INVALID. */
TESSEL_RT_API tessel_dtype tessel_dtype_from_name(const char *name);

/*===----------------------------------------------------------------------===*
 * Tensors
 *
 * A tensor is a dense, row-major (C order), contiguous array. Its dims are
 * all >= 0 (no dynamic dims); rank 0 is a scalar of one element.
 *===----------------------------------------------------------------------===*/

typedef struct tessel_tensor tessel_tensor;

/* Creates a tensor of `rank` dims copied from `dims` (NULL if rank is 0)
 * whose data the runtime allocates (64-byte aligned) and zeroes. The caller
 * owns *out and releases it (data included) with tessel_tensor_free. */
TESSEL_RT_API tessel_status tessel_tensor_create(tessel_dtype dtype,
                                                 int32_t rank,
                                                 const int64_t *dims,
                                                 tessel_tensor **out);

/* Creates a tensor that views `data`, which the caller keeps owning: it must
 * hold at least `data_bytes` bytes, stay valid until tessel_tensor_free, and
 * is never freed by the runtime. `data_bytes` must be at least the tensor's
 * byte size; `data` may be NULL only when that size is 0. The caller owns
 * *out and releases it with tessel_tensor_free. */
TESSEL_RT_API tessel_status tessel_tensor_wrap(tessel_dtype dtype, int32_t rank,
                                               const int64_t *dims, void *data,
                                               size_t data_bytes,
                                               tessel_tensor **out);

/* Releases the tensor, and its data when the runtime owns it. NULL is a
 * no-op. */
TESSEL_RT_API void tessel_tensor_free(tessel_tensor *tensor);

TESSEL_RT_API tessel_dtype tessel_tensor_dtype(const tessel_tensor *tensor);
TESSEL_RT_API int32_t tessel_tensor_rank(const tessel_tensor *tensor);
/* `rank` dims, owned by the tensor (valid until it is freed); NULL for rank 0
 * or a NULL tensor. */
TESSEL_RT_API const int64_t *tessel_tensor_dims(const tessel_tensor *tensor);
/* The first element; owned as said at creation. Not NULL for a tensor the
 * runtime allocated, even when it has no elements. */
TESSEL_RT_API void *tessel_tensor_data(const tessel_tensor *tensor);
/* Number of elements (1 for rank 0). */
TESSEL_RT_API size_t tessel_tensor_element_count(const tessel_tensor *tensor);
/* element count * dtype size. */
TESSEL_RT_API size_t tessel_tensor_byte_size(const tessel_tensor *tensor);

/*===----------------------------------------------------------------------===*
 * Models
 *===----------------------------------------------------------------------===*/

typedef struct tessel_model tessel_model;

/* What the manifest says about one input or output. `name` and `dims` are
 * owned by the model and stay valid until tessel_model_free. A dim is -1
 * where it is dynamic (batch, sequence). */
typedef struct tessel_tensor_info {
  const char *name;
  tessel_dtype dtype;
  int32_t rank;
  const int64_t *dims; /* `rank` entries; NULL when rank is 0 */
} tessel_tensor_info;

/* Loads the model.so at `path` (dlopen, RTLD_NOW | RTLD_LOCAL), checks its
 * ABI version, parses its manifest, and memory-maps and verifies its
 * weights file (magic, size against the manifest and the file, checksum
 * against the manifest and the header). Errors:
 *   TESSEL_IO_ERROR        the file is missing/unreadable, or the dynamic
 *                          loader rejects it (e.g. a missing dependency)
 *   TESSEL_NOT_A_MODEL     not a shared object, or no tessel_model_abi_version
 *   TESSEL_ABI_MISMATCH    another ABI version, a missing ABI symbol, a
 *                          malformed manifest, or an exported `main` that the
 *                          program's own exported `main` would shadow
 *   TESSEL_WEIGHTS_ERROR   any problem with the weights file
 * The caller owns *out and releases it with tessel_model_free.
 * Process-wide effect: the first load tunes glibc malloc (mallopt
 * M_MMAP_THRESHOLD 32 MiB, M_TRIM_THRESHOLD 1 GiB) so the model's large
 * intermediate buffers are reused between runs instead of being mapped and
 * page-faulted again each run; set TESSEL_KEEP_MALLOC_DEFAULTS=1 to opt out. */
TESSEL_RT_API tessel_status tessel_model_load(const char *path,
                                              tessel_model **out);

/* Unmaps the weights and unloads the library. Tensors that the model's runs
 * returned stay valid (they own their data). NULL is a no-op. */
TESSEL_RT_API void tessel_model_free(tessel_model *model);

TESSEL_RT_API size_t tessel_model_input_count(const tessel_model *model);
TESSEL_RT_API size_t tessel_model_output_count(const tessel_model *model);

/* Fills *info for input/output `index` (0-based, in run-argument order). */
TESSEL_RT_API tessel_status tessel_model_input_info(const tessel_model *model,
                                                    size_t index,
                                                    tessel_tensor_info *info);
TESSEL_RT_API tessel_status tessel_model_output_info(const tessel_model *model,
                                                     size_t index,
                                                     tessel_tensor_info *info);

/* The manifest's target ("cpu", ...), owned by the model. */
TESSEL_RT_API const char *tessel_model_target(const tessel_model *model);

/* Bytes of weight data (without the header); 0 when the model has no
 * weights file. */
TESSEL_RT_API uint64_t tessel_model_weights_size(const tessel_model *model);

/* Runs the model once. `inputs` holds `n_inputs` tensors in the manifest's
 * input order; `n_inputs` and `n_outputs` must equal the model's counts.
 * Every input's dtype, rank and static dims are checked (the error names the
 * input and both shapes). The runtime only reads the inputs; the caller keeps
 * owning them. On success, outputs[i] receives a new tensor for output i,
 * owned by the caller (release each with tessel_tensor_free); on failure
 * every outputs[i] is set to NULL. */
TESSEL_RT_API tessel_status tessel_model_run(tessel_model *model,
                                             tessel_tensor *const *inputs,
                                             size_t n_inputs,
                                             tessel_tensor **outputs,
                                             size_t n_outputs);

/*===----------------------------------------------------------------------===*
 * KV cache and generation
 *
 * A decoder compiled with `tesselc --kv-cache` has `prefill` and `decode`
 * entry points that attend over a paged KV cache owned by the runtime.
 * Sequences live in a cache; each prefill/decode call appends tokens to
 * them and returns the logits of each sequence's last token.
 *
 * A cache (and its sequences) must be used by one thread at a time; the
 * model may be shared by caches on other threads. The cache must be freed
 * before its model.
 *===----------------------------------------------------------------------===*/

typedef struct tessel_kv_cache tessel_kv_cache;

typedef struct tessel_kv_cache_options {
  /* Tokens per block; 0 means 16. */
  int64_t block_tokens;
  /* Bytes for key/value blocks. The block count is budget_bytes / (2 *
   * layers * kv_heads * head_dim * dtype size * block_tokens), at least 1.
   * 0 means: budget_fraction of the GPU's free memory for a CUDA model,
   * 64 MiB for a CPU model. */
  uint64_t budget_bytes;
  /* CUDA models, when budget_bytes is 0: the fraction (0, 1] of the
   * device's free memory (at creation) the cache takes; 0 means 0.5. */
  double budget_fraction;
} tessel_kv_cache_options;

/* 1 if the model has prefill/decode entry points (compiled with
 * --kv-cache), else 0. */
TESSEL_RT_API int tessel_model_has_kv_cache(const tessel_model *model);

/* The logits' width (vocabulary size) of a --kv-cache model; 0 otherwise. */
TESSEL_RT_API int64_t tessel_model_vocab_size(const tessel_model *model);

/* Creates an empty cache for `model` (options may be NULL for defaults).
 * TESSEL_INVALID_ARGUMENT if the model has no KV cache entry points,
 * TESSEL_OUT_OF_MEMORY if the pool cannot be allocated. */
TESSEL_RT_API tessel_status tessel_kv_cache_create(
    tessel_model *model, const tessel_kv_cache_options *options,
    tessel_kv_cache **out);
TESSEL_RT_API void tessel_kv_cache_free(tessel_kv_cache *cache);

/* Blocks in the pool, and blocks free now (including cached prefix blocks
 * no sequence uses, which are reused when needed). */
TESSEL_RT_API int64_t tessel_kv_cache_block_count(const tessel_kv_cache *cache);
TESSEL_RT_API int64_t
tessel_kv_cache_free_block_count(const tessel_kv_cache *cache);

/* A new empty sequence. */
TESSEL_RT_API tessel_status tessel_sequence_add(tessel_kv_cache *cache,
                                                int64_t *sequence);
/* A new sequence that shares all of `sequence`'s tokens and blocks (for
 * parallel sampling and beam search); a block is copied only when one of
 * them writes into it (copy-on-write). */
TESSEL_RT_API tessel_status tessel_sequence_fork(tessel_kv_cache *cache,
                                                 int64_t sequence,
                                                 int64_t *child);
/* Releases the sequence and its blocks. */
TESSEL_RT_API tessel_status tessel_sequence_free(tessel_kv_cache *cache,
                                                 int64_t sequence);
/* Releases the sequence's blocks but keeps the sequence and its tokens:
 * tessel_prefill(cache, sequence, NULL, 0, logits) computes them again. */
TESSEL_RT_API tessel_status tessel_sequence_preempt(tessel_kv_cache *cache,
                                                    int64_t sequence);
/* Tokens held in the cache for the sequence; -1 for an unknown one. */
TESSEL_RT_API int64_t tessel_sequence_length(const tessel_kv_cache *cache,
                                             int64_t sequence);

/* Appends `n` tokens to `sequence` and runs them through the model in one
 * step; writes the logits of the last token (vocab floats) to `logits`
 * (may be NULL). For an empty sequence, whole blocks of the prompt that
 * the cache already holds (a shared prefix) are reused, not recomputed.
 * For a preempted sequence, n = 0 recomputes its kept tokens.
 * TESSEL_KV_CACHE_FULL: nothing was changed. */
TESSEL_RT_API tessel_status tessel_prefill(tessel_kv_cache *cache,
                                           int64_t sequence,
                                           const int64_t *tokens, int64_t n,
                                           float *logits);

/* One decode step over `n` sequences (continuous batching: any set of live
 * sequences, each at its own length): appends tokens[i] to sequences[i] and
 * writes its logits to logits[i * vocab ...]. TESSEL_KV_CACHE_FULL: nothing
 * was changed. */
TESSEL_RT_API tessel_status tessel_decode(tessel_kv_cache *cache,
                                          const int64_t *sequences,
                                          const int64_t *tokens, int64_t n,
                                          float *logits);

/* Sampling. temperature <= 0 is greedy (argmax, lowest index on ties);
 * otherwise softmax(logits / temperature) restricted to the top_k most
 * likely tokens (0: all) and then to the smallest set whose probability
 * reaches top_p (>= 1 or <= 0: all), drawn with a generator seeded by
 * `seed` (the same seed gives the same draws). */
typedef struct tessel_sampling_params {
  float temperature;
  int32_t top_k;
  float top_p;
  uint64_t seed;
} tessel_sampling_params;

typedef struct tessel_sampler tessel_sampler;

TESSEL_RT_API tessel_status tessel_sampler_create(
    const tessel_sampling_params *params, tessel_sampler **out);
TESSEL_RT_API void tessel_sampler_free(tessel_sampler *sampler);
TESSEL_RT_API tessel_status tessel_sample(tessel_sampler *sampler,
                                          const float *logits, int64_t vocab,
                                          int64_t *token);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TESSEL_RUNTIME_H */
