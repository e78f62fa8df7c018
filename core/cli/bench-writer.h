/* bench-writer.h — weight files of random contents for `gill bench load`, written the way the
 * official tools write them: safetensors (the safetensors package's layout) and torch.save's zip
 * (stored entries, 64-byte aligned data, ZIP64 records, a protocol-2 pickle of an OrderedDict of
 * _rebuild_tensor_v2 calls). Every tensor is f16, contiguous. */
#pragma once

#include <stdio.h>

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *name;
  gint64 rows, cols; /* cols = 0: a vector [rows] */
} GillBenchTensor;

guint64  gill_bench_tensor_bytes      (const GillBenchTensor *t);
gboolean gill_bench_write_safetensors (const gchar           *path,
                                       GillBenchTensor *const *tensors,
                                       guint                  n,
                                       GError               **error);
gboolean gill_bench_write_torch_zip   (const gchar           *path,
                                       GillBenchTensor *const *tensors,
                                       guint                  n,
                                       GError               **error);

G_END_DECLS
