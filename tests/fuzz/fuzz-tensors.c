/* fuzz-tensors.c — the body of the tensor-file readers' fuzz targets (fuzz-tensors.h). */
#include "fuzz-tensors.h"

/* floats are read as floats: copying them to i64 is undefined for values beyond its range */
static void
fuzz_read_tensor (const GillTensor *tensor)
{
  gsize n = MAX ((gsize) gill_tensor_numel (tensor), 1);
  if (gill_dtype_is_float (tensor->dtype))
    {
      g_autofree float *out = g_new (float, n);
      gill_tensor_copy_f32 (tensor, out);
    }
  else
    {
      g_autofree gint64 *out = g_new (gint64, n);
      gill_tensor_copy_i64 (tensor, out);
    }
}

void
fuzz_tensor_reader (const uint8_t    *data,
                    size_t            size,
                    FuzzOpenBytesFunc open_bytes,
                    const gchar      *name)
{
  g_autoptr (GBytes) bytes = g_bytes_new (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) list = open_bytes (bytes, name, &error);

  g_assert ((list == NULL) != (error == NULL));
  for (guint i = 0; list != NULL && i < list->tensors->len; i++)
    fuzz_read_tensor (g_ptr_array_index (list->tensors, i));
}
