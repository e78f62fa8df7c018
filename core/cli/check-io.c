/* check-io.c — fixture kinds io.tensor and io.value: what the weight readers return.
 *
 * io.tensor: the tensor at a '/'-separated key of a file, as float32 (floats) or int64 (integers,
 * bools); io.value: a non-tensor value in its JSON form. Files are told apart by magic bytes. */
#include "core/cli/check.h"

#include <stdio.h>

#include "core/base/error.h"
#include "core/io/store.h"
#include "core/io/torch.h"

/* the object tree of a pickled file, or a dict of a flat tensor file's tensors */
static GillValue *
load_file_tree (const gchar *path,
                GError     **error)
{
  guint8 head[16] = { 0 };
  gsize len = 0;
  FILE *f = fopen (path, "rb");
  if (f)
    {
      len = fread (head, 1, sizeof head, f);
      fclose (f);
    }
  GillFormat format = gill_format_sniff (head, len);
  if (format == GILL_FORMAT_PYTORCH_ZIP || format == GILL_FORMAT_PICKLE)
    return gill_torch_load (path, error);

  g_autoptr (GillTensorList) list = gill_weights_open_file (path, error);
  if (list == NULL)
    return NULL;
  GillValue *dict = gill_value_new_dict ();
  for (guint i = 0; i < list->names->len; i++)
    {
      g_autoptr (GillValue) key = gill_value_new_string (g_ptr_array_index (list->names, i), -1);
      g_autoptr (GillValue) tensor = gill_value_new_tensor (g_ptr_array_index (list->tensors, i));
      gill_value_dict_set (dict, key, tensor); /* takes its own references */
    }
  return dict;
}

static GillValue *
case_value (const GillCheckCase *c,
            GError             **error)
{
  g_autofree gchar *file = gill_check_input_string (c, "file", error);
  g_autofree gchar *key = file ? gill_check_input_string (c, "key", error) : NULL;
  if (key == NULL)
    return NULL;
  g_autofree gchar *path = gill_check_path (c, file);
  g_autoptr (GillValue) root = load_file_tree (path, error);
  if (root == NULL)
    return NULL;
  /* a flat file's key may itself contain '/': try it whole first */
  GillValue *v = root->kind == GILL_VALUE_DICT ? gill_value_dict_get (root, key) : NULL;
  if (v == NULL)
    v = gill_value_lookup_path (root, key);
  if (v == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no value at key '%s'", path, key);
      return NULL;
    }
  return gill_value_ref (v);
}

static gboolean
run_io_tensor (const GillCheckCase *c,
               GillCheckResults    *out,
               GError             **error)
{
  g_autoptr (GillValue) v = case_value (c, error);
  if (v == NULL)
    return FALSE;
  if (v->kind != GILL_VALUE_TENSOR)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "the value is a %s, not a tensor",
                   gill_value_kind_name (v->kind));
      return FALSE;
    }
  GillTensor *t = v->tensor;
  g_autoptr (GillTensor) wide = gill_dtype_is_float (t->dtype) ? gill_tensor_new_f32 (t->n_dims, t->shape)
                                                                : gill_tensor_new_i64 (t->n_dims, t->shape);
  if (gill_dtype_is_float (t->dtype))
    gill_tensor_copy_f32 (t, gill_tensor_data_f32 (wide));
  else
    gill_tensor_copy_i64 (t, gill_tensor_data_i64 (wide));
  gill_check_results_set_tensor (out, "value", wide);
  return TRUE;
}

static gboolean
run_io_value (const GillCheckCase *c,
              GillCheckResults    *out,
              GError             **error)
{
  g_autoptr (GillValue) v = case_value (c, error);
  if (v == NULL)
    return FALSE;
  g_autoptr (JsonNode) json = gill_value_to_json (v);
  gill_check_results_set_json (out, "value", json);
  return TRUE;
}

const GillCheckKind gill_check_kinds_io[] = {
  { "io.tensor", run_io_tensor, NULL },
  { "io.value", run_io_value, NULL },
  { NULL },
};
