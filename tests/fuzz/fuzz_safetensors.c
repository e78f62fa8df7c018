/* fuzz_safetensors.c — libFuzzer target for the safetensors reader: any bytes must give a
 * tensor list or a GError, never a crash, a leak or undefined behaviour. */
#include <glib.h>
#include <stdint.h>

#include "core/io/safetensors.h"
#include "fuzz-tensors.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  fuzz_tensor_reader (data, size, gill_safetensors_open_bytes, "fuzz.safetensors");
  return 0;
}
