/* safetensors.h — reader for Hugging Face safetensors files (models.md §4.1).
 *
 * Layout: u64 LE header length N, N bytes of JSON, raw little-endian C-order data. The header is
 * validated in full: well-formed JSON object, known dtypes, offsets inside the buffer, entries
 * that tile the buffer without holes or overlaps, end - begin = numel x dtype size, no duplicate
 * names, N <= 100,000,000. Data may be unaligned; tensors are views into the mapping (each holds a
 * reference on it), listed in file (offset) order; "__metadata__" goes to list->metadata. Every
 * error is a GError (GILL_ERROR_FORMAT, or GILL_ERROR_UNSUPPORTED for F8/F4/F6/C64 dtypes and more
 * than GILL_TENSOR_MAX_DIMS dimensions; GILL_ERROR_IO from gill_file_map) whose message starts
 * with the file name. */
#pragma once

#include <glib.h>

#include "core/io/tensors.h"

G_BEGIN_DECLS

/* magic test: could these first bytes start a safetensors file? (8-byte length, then '{') */
gboolean        gill_safetensors_sniff      (const guint8 *head,
                                             gsize         len);
/* Maps the file; only the header's pages are read, so `bench load` and `info` use this as is. */
GillTensorList *gill_safetensors_open       (const gchar  *path,
                                             GError      **error);
/* parse from bytes already in memory; name is used in messages */
GillTensorList *gill_safetensors_open_bytes (GBytes       *bytes,
                                             const gchar  *name,
                                             GError      **error);

G_END_DECLS
