/* A model that exports `main`, as tesselc's models did at first: its entry
 * point would call the program's `main` when the program exports one. */
#define FAKE_MANIFEST                                                          \
  "tessel-model 1\n"                                                           \
  "input x f32 2 -1 4\n"                                                       \
  "output y f32 2 -1 4\n"
#define FAKE_RUN run_add_one
#include "fake_model.c"

int main(void) { return 0; }
