/*===- run_model.c - Use libtessel_rt from C -----------------------------===*
 *
 *   run_model MODEL.so
 *
 * Loads a model compiled by tesselc, prints its inputs and outputs, makes
 * one input tensor per input (dynamic dims: batch 1, then 8, so a language
 * model gets input_ids/attention_mask of shape [1, 8]: the bytes of
 * "Hello, w" and ones), runs it, prints each output's shape and first
 * values, and frees everything. On failure it prints tessel_last_error() and
 * exits non-zero.
 *
 *===----------------------------------------------------------------------===*/

#include "tessel/runtime.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TENSORS 64
#define SHOWN_VALUES 8

static const char kText[] = "Hello, world! tessel runs compiled models.";

static void print_shape(int32_t rank, const int64_t *dims) {
  int32_t i;
  printf("[");
  for (i = 0; i < rank; ++i) {
    if (dims[i] < 0)
      printf("%s?", i ? ", " : "");
    else
      printf("%s%" PRId64, i ? ", " : "", dims[i]);
  }
  printf("]");
}

static int report(const char *what, tessel_status status) {
  fprintf(stderr, "run_model: %s failed (%s): %s\n", what,
          tessel_status_string(status), tessel_last_error());
  return 1;
}

/* The value of element k of an input: ones for a mask, text bytes for other
 * integer inputs, small fractions for float inputs. */
static double input_value(const char *name, tessel_dtype dtype, size_t k) {
  if (strcmp(name, "attention_mask") == 0 || dtype == TESSEL_DTYPE_BOOL)
    return 1;
  if (dtype == TESSEL_DTYPE_F32 || dtype == TESSEL_DTYPE_F64)
    return (double)(k % 8) * 0.25;
  return (double)(unsigned char)kText[k % (sizeof(kText) - 1)];
}

static int fill(tessel_tensor *t, const char *name) {
  tessel_dtype dtype = tessel_tensor_dtype(t);
  size_t n = tessel_tensor_element_count(t), k;
  void *data = tessel_tensor_data(t);
  for (k = 0; k < n; ++k) {
    double v = input_value(name, dtype, k);
    switch (dtype) {
    case TESSEL_DTYPE_F32:
      ((float *)data)[k] = (float)v;
      break;
    case TESSEL_DTYPE_F64:
      ((double *)data)[k] = v;
      break;
    case TESSEL_DTYPE_I8:
      ((int8_t *)data)[k] = (int8_t)v;
      break;
    case TESSEL_DTYPE_I16:
      ((int16_t *)data)[k] = (int16_t)v;
      break;
    case TESSEL_DTYPE_I32:
      ((int32_t *)data)[k] = (int32_t)v;
      break;
    case TESSEL_DTYPE_I64:
      ((int64_t *)data)[k] = (int64_t)v;
      break;
    case TESSEL_DTYPE_U8:
    case TESSEL_DTYPE_BOOL:
      ((uint8_t *)data)[k] = (uint8_t)v;
      break;
    case TESSEL_DTYPE_U16:
      ((uint16_t *)data)[k] = (uint16_t)v;
      break;
    case TESSEL_DTYPE_U32:
      ((uint32_t *)data)[k] = (uint32_t)v;
      break;
    case TESSEL_DTYPE_U64:
      ((uint64_t *)data)[k] = (uint64_t)v;
      break;
    default:
      fprintf(stderr, "run_model: cannot fill input '%s' of dtype %s\n", name,
              tessel_dtype_name(dtype));
      return 0;
    }
  }
  return 1;
}

static void print_values(const tessel_tensor *t) {
  tessel_dtype dtype = tessel_tensor_dtype(t);
  size_t n = tessel_tensor_element_count(t), k;
  const void *data = tessel_tensor_data(t);
  printf("  first values:");
  for (k = 0; k < n && k < SHOWN_VALUES; ++k) {
    switch (dtype) {
    case TESSEL_DTYPE_F32:
      printf(" %.6g", ((const float *)data)[k]);
      break;
    case TESSEL_DTYPE_F64:
      printf(" %.6g", ((const double *)data)[k]);
      break;
    case TESSEL_DTYPE_I32:
      printf(" %" PRId32, ((const int32_t *)data)[k]);
      break;
    case TESSEL_DTYPE_I64:
      printf(" %" PRId64, ((const int64_t *)data)[k]);
      break;
    case TESSEL_DTYPE_U8:
    case TESSEL_DTYPE_BOOL:
      printf(" %u", ((const uint8_t *)data)[k]);
      break;
    default:
      printf(" (%s not shown)", tessel_dtype_name(dtype));
      k = n;
      break;
    }
  }
  printf("%s\n", n > SHOWN_VALUES ? " ..." : "");
}

int main(int argc, char **argv) {
  tessel_model *model = NULL;
  tessel_tensor *inputs[MAX_TENSORS] = {0};
  tessel_tensor *outputs[MAX_TENSORS] = {0};
  size_t n_inputs = 0, n_outputs = 0, i;
  tessel_status status;
  int rc = 1;

  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.so\n", argv[0]);
    return 2;
  }
  status = tessel_model_load(argv[1], &model);
  if (status != TESSEL_OK)
    return report("loading the model", status);

  n_inputs = tessel_model_input_count(model);
  n_outputs = tessel_model_output_count(model);
  printf("model %s (target %s): %zu input(s), %zu output(s)\n", argv[1],
         tessel_model_target(model), n_inputs, n_outputs);
  if (n_inputs > MAX_TENSORS || n_outputs > MAX_TENSORS) {
    fprintf(stderr, "run_model: more than %d inputs or outputs\n", MAX_TENSORS);
    goto done;
  }

  for (i = 0; i < n_inputs; ++i) {
    tessel_tensor_info info;
    int64_t dims[64];
    int32_t d;
    int seen_dynamic = 0;
    status = tessel_model_input_info(model, i, &info);
    if (status != TESSEL_OK) {
      report("reading input info", status);
      goto done;
    }
    printf("input %zu: %s %s ", i, info.name, tessel_dtype_name(info.dtype));
    print_shape(info.rank, info.dims);
    if (info.rank > 64) {
      fprintf(stderr, "\nrun_model: input '%s' has rank %d\n", info.name,
              (int)info.rank);
      goto done;
    }
    /* Dynamic dims: 1 for the first (batch), 8 for the others (sequence). */
    for (d = 0; d < info.rank; ++d) {
      dims[d] = info.dims[d] >= 0 ? info.dims[d] : (seen_dynamic ? 8 : 1);
      if (info.dims[d] < 0)
        seen_dynamic = 1;
    }
    status = tessel_tensor_create(info.dtype, info.rank, dims, &inputs[i]);
    if (status != TESSEL_OK) {
      report("creating an input tensor", status);
      goto done;
    }
    if (!fill(inputs[i], info.name))
      goto done;
    printf(" <- ");
    print_shape(info.rank, dims);
    printf("\n");
  }
  for (i = 0; i < n_outputs; ++i) {
    tessel_tensor_info info;
    status = tessel_model_output_info(model, i, &info);
    if (status != TESSEL_OK) {
      report("reading output info", status);
      goto done;
    }
    printf("output %zu: %s %s ", i, info.name, tessel_dtype_name(info.dtype));
    print_shape(info.rank, info.dims);
    printf("\n");
  }

  status = tessel_model_run(model, inputs, n_inputs, outputs, n_outputs);
  if (status != TESSEL_OK) {
    report("running the model", status);
    goto done;
  }
  for (i = 0; i < n_outputs; ++i) {
    tessel_tensor_info info;
    tessel_model_output_info(model, i, &info);
    printf("result %s: %s ", info.name,
           tessel_dtype_name(tessel_tensor_dtype(outputs[i])));
    print_shape(tessel_tensor_rank(outputs[i]), tessel_tensor_dims(outputs[i]));
    printf("\n");
    print_values(outputs[i]);
  }
  rc = 0;

done:
  for (i = 0; i < MAX_TENSORS; ++i) {
    tessel_tensor_free(inputs[i]);
    tessel_tensor_free(outputs[i]);
  }
  tessel_model_free(model);
  return rc;
}
