/* y = x + 1 over f32 [?, 4]; no weights. */
#define FAKE_MANIFEST                                                          \
  "tessel-model 1\n"                                                           \
  "target cpu\n"                                                               \
  "weights - 0 0\n"                                                            \
  "input x f32 2 -1 4\n"                                                       \
  "output y f32 2 -1 4\n"
#define FAKE_RUN run_add_one
#include "fake_model.c"
