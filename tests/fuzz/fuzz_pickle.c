/* fuzz_pickle.c — libFuzzer target: the restricted unpickler with numpy allowed and every
 * storage resolved to the same small buffer; on success the tree is walked, turned into JSON,
 * and every collected tensor is read element by element. */
#include <stdint.h>

#include <glib.h>

#include "core/io/pickle.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static GBytes *
fuzz_storage (const gchar *key,
              gpointer     user_data,
              GError     **error)
{
  (void) user_data;
  (void) error;
  static const guint8 storage[256] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
  /* key "short" gets a storage too small for most tensors */
  return g_bytes_new (storage, g_str_equal (key, "short") ? 3 : sizeof storage);
}

/* read every element of every tensor in the tree, so that ASan sees any view out of range */
static void
read_tensors (const GillValue *value)
{
  if (value->kind == GILL_VALUE_TENSOR && gill_tensor_numel (value->tensor) <= (1 << 20))
    {
      g_autofree float *out = g_new (float, MAX (gill_tensor_numel (value->tensor), 1));
      gill_tensor_copy_f32 (value->tensor, out);
    }
  if (gill_value_is_container (value))
    for (guint i = 0; i < value->items->len; i++)
      read_tensors (g_ptr_array_index (value->items, i));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  GillPickleOptions options = { "fuzz.pkl", fuzz_storage, NULL, TRUE };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_bytes_new (data, size);
  /* odd sizes copy bytes objects, even ones take views into the input */
  g_autoptr (GillValue) root = size % 2 ? gill_pickle_load (data, size, &options, &error)
                                        : gill_pickle_load_bytes (bytes, &options, &error);

  if (root == NULL)
    {
      g_assert (error != NULL);
      return 0;
    }
  g_autoptr (JsonNode) json = gill_value_to_json (root);
  g_autofree gchar *text = json_to_string (json, FALSE);
  g_assert (text != NULL);
  g_autoptr (GillTensorList) list = gill_tensor_list_new ("fuzz.pkl", "pickle");
  gill_value_collect_tensors (root, list);
  read_tensors (root);
  (void) gill_value_lookup_path (root, "0/state_dict/a");
  return 0;
}
