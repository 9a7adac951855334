/* A hand-written stand-in for a model.so that tesselc emits
 * (docs/model-abi.md), so the runtime and tessel-run can be tested without
 * the compiler. A file that includes this one defines:
 *   FAKE_MANIFEST      the manifest text (unless FAKE_NO_MANIFEST)
 *   FAKE_RUN           one of the run_* functions below (unless FAKE_NO_RUN)
 *   FAKE_ABI_VERSION   default 1
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef FAKE_ABI_VERSION
#define FAKE_ABI_VERSION 1
#endif

typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} memref1;
typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} memref2;
typedef struct {
  void *allocated, *aligned;
  int64_t offset;
} memref0;

const uint32_t tessel_model_abi_version = FAKE_ABI_VERSION;
#ifndef FAKE_NO_MANIFEST
const char tessel_model_manifest[] = FAKE_MANIFEST;
#endif

static void set2(memref2 *d, void *allocated, void *aligned, int64_t offset,
                 int64_t s0, int64_t s1, int64_t st0, int64_t st1) {
  d->allocated = allocated;
  d->aligned = aligned;
  d->offset = offset;
  d->sizes[0] = s0;
  d->sizes[1] = s1;
  d->strides[0] = st0;
  d->strides[1] = st1;
}

/* input x f32 [?, 4] -> output y f32 [?, 4] = x + 1 */
static void run_add_one(void **args) {
  memref2 *out = (memref2 *)args[0];
  const memref2 *x = (const memref2 *)args[2];
  int64_t n = x->sizes[0] * x->sizes[1], i;
  const float *in = (const float *)x->aligned + x->offset;
  float *y = (float *)malloc((size_t)n * sizeof(float) + 1);
  for (i = 0; i < n; ++i)
    y[i] = in[i] + 1.0f;
  set2(out, y, y, 0, x->sizes[0], x->sizes[1], x->sizes[1], 1);
}

/* weights: 4 f32; inputs ids i64 [?, ?], x f32 [?, 4]; outputs
 *   y f32 [?, 4] = x + w[col]   (allocated != aligned)
 *   n i64 []     = sum(ids)
 *   t f32 [4, ?] = transpose(y), returned as a strided view at offset 2 */
static void run_weighted(void **args) {
  char *area = (char *)args[0];
  memref2 *y = (memref2 *)area;
  memref0 *n = (memref0 *)(area + sizeof(memref2));
  memref2 *t = (memref2 *)(area + sizeof(memref2) + sizeof(memref0));
  const memref1 *w = (const memref1 *)args[1];
  const memref2 *ids = (const memref2 *)args[2];
  const memref2 *x = (const memref2 *)args[3];
  int ok = w->allocated && w->aligned == w->allocated && w->offset == 0 &&
           w->sizes[0] == 16 && w->strides[0] == 1;
  const float *wf = (const float *)w->aligned;
  int64_t rows = x->sizes[0], i, j, count = ids->sizes[0] * ids->sizes[1];
  const float *xin = (const float *)x->aligned + x->offset;
  const int64_t *idv = (const int64_t *)ids->aligned + ids->offset;

  char *raw = (char *)malloc((size_t)(rows * 4) * sizeof(float) + 64);
  float *yd = (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
  for (i = 0; i < rows; ++i)
    for (j = 0; j < 4; ++j)
      yd[i * 4 + j] = ok ? xin[i * 4 + j] + wf[j] : 0.0f / 0.0f;
  set2(y, raw, yd, 0, rows, 4, 4, 1);

  int64_t *sum = (int64_t *)malloc(sizeof(int64_t));
  *sum = 0;
  for (i = 0; i < count; ++i)
    *sum += idv[i];
  n->allocated = n->aligned = sum;
  n->offset = 0;

  float *td = (float *)malloc((size_t)(rows * 4 + 2) * sizeof(float));
  memcpy(td + 2, yd, (size_t)(rows * 4) * sizeof(float));
  set2(t, td, td, 2, 4, rows, 1, 4);
}

/* input x f32 [?] -> output y: the input's own descriptor (aliases it) */
static void run_identity(void **args) {
  memcpy(args[0], args[2], sizeof(memref1));
}

/* input x f32 [?] -> outputs a, b f32 [?]: one buffer (2x) returned twice */
static void run_dup(void **args) {
  memref1 *a = (memref1 *)args[0], *b = a + 1;
  const memref1 *x = (const memref1 *)args[2];
  int64_t i, n = x->sizes[0];
  float *buf = (float *)malloc((size_t)n * sizeof(float) + 1);
  for (i = 0; i < n; ++i)
    buf[i] = 2.0f * ((const float *)x->aligned)[i];
  a->allocated = a->aligned = buf;
  a->offset = 0;
  a->sizes[0] = n;
  a->strides[0] = 1;
  *b = *a;
}

/* input x f32 [2] -> output y f32 [2] by the manifest, but of size 3 */
static void run_bad_shape(void **args) {
  memref1 *y = (memref1 *)args[0];
  float *buf = (float *)calloc(3, sizeof(float));
  y->allocated = y->aligned = buf;
  y->offset = 0;
  y->sizes[0] = 3;
  y->strides[0] = 1;
}

/* dereferences NULL */
static void run_crash(void **args) {
  volatile int *p = (volatile int *)args[1];
  p = (volatile int *)((const memref1 *)p)->allocated; /* no weights: NULL */
  *p = 1;
}

#ifndef FAKE_NO_RUN
void tessel_model_run(void **args) { FAKE_RUN(args); }
#endif
