/* A model with a weights file (weighted.weights: f32 1, 2, 3, 4; see
 * make_weights.py), two inputs and three outputs, one of them strided. */
#define FAKE_MANIFEST                                                          \
  "tessel-model 1\n"                                                           \
  "target cpu\n"                                                               \
  "weights weighted.weights 16 21b327dac52b6fed\n"                             \
  "input ids i64 2 -1 -1\n"                                                    \
  "input x f32 2 -1 4\n"                                                       \
  "output y f32 2 -1 4\n"                                                      \
  "output n i64 0\n"                                                           \
  "output t f32 2 4 -1\n"
#define FAKE_RUN run_weighted
#include "fake_model.c"
