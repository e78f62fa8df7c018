/* fuzz_safetensors.c — libFuzzer target for the safetensors reader: any bytes must give a
 * tensor list or a GError, never a crash, a leak or undefined behaviour. */
#include <glib.h>
#include <stdint.h>

#include "core/io/safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr (GBytes) bytes = g_bytes_new (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) list = gill_safetensors_open_bytes (bytes, "fuzz.safetensors", &error);

  g_assert ((list == NULL) != (error == NULL));
  if (list != NULL)
    {
      /* touch every element so out-of-bounds views show up under ASan; floats are read as
       * floats (copying them to i64 is undefined for values beyond the i64 range) */
      for (guint i = 0; i < list->tensors->len; i++)
        {
          GillTensor *t = g_ptr_array_index (list->tensors, i);
          gsize n = MAX ((gsize) gill_tensor_numel (t), 1);
          if (gill_dtype_is_float (t->dtype))
            {
              g_autofree float *out = g_new (float, n);
              gill_tensor_copy_f32 (t, out);
            }
          else
            {
              g_autofree gint64 *out = g_new (gint64, n);
              gill_tensor_copy_i64 (t, out);
            }
        }
    }
  return 0;
}
