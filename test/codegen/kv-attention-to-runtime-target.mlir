// RUN: tessel-opt %s -convert-tessel-kv-attention-to-runtime=target=tpu -verify-diagnostics
//
// An unknown target is an error that names it.

// expected-error @+1 {{convert-tessel-kv-attention-to-runtime: unknown target 'tpu' (expected cpu or cuda)}}
module {
}
