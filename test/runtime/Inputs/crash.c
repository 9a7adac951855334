/* A model whose run dereferences NULL, as a miscompiled model might. */
#define FAKE_MANIFEST                                                          \
  "tessel-model 1\n"                                                           \
  "input x f32 2 -1 4\n"                                                       \
  "output y f32 2 -1 4\n"
#define FAKE_RUN run_crash
#include "fake_model.c"
