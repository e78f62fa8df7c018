/* fuzz-tensors.h — what the fuzz targets of the tensor-file readers (safetensors, npy) share. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "core/io/tensors.h"

G_BEGIN_DECLS

/* a reader's gill_<format>_open_bytes */
typedef GillTensorList *(*FuzzOpenBytesFunc) (GBytes      *bytes,
                                              const gchar *name,
                                              GError     **error);

int  LLVMFuzzerTestOneInput (const uint8_t    *data,
                             size_t            size);

/* Runs open_bytes on the input, named name: it must give a tensor list or a GError, never both
 * or neither; every element of every tensor is then read, so that ASan sees any view out of
 * range. */
void fuzz_tensor_reader     (const uint8_t    *data,
                             size_t            size,
                             FuzzOpenBytesFunc open_bytes,
                             const gchar      *name);

G_END_DECLS
