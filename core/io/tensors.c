/* tensors.c — GillTensorList, whole-file mapping, and the shape and dtype facts readers share. */
#include "core/io/tensors.h"

#include <errno.h>

#include "core/base/error.h"

GillTensorList *
gill_tensor_list_new (const gchar *path,
                      const gchar *format)
{
  GillTensorList *list = g_new0 (GillTensorList, 1);
  list->path = g_strdup (path);
  list->format = g_strdup (format);
  list->names = g_ptr_array_new_with_free_func (g_free);
  list->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) gill_tensor_unref);
  list->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return list;
}

void
gill_tensor_list_add (GillTensorList *list,
                      const gchar    *name,
                      GillTensor     *tensor)
{
  g_ptr_array_add (list->names, g_strdup (name));
  g_ptr_array_add (list->tensors, gill_tensor_ref (tensor));
}

GillTensor *
gill_tensor_list_find (const GillTensorList *list,
                       const gchar          *name)
{
  for (guint i = 0; i < list->names->len; i++)
    if (g_str_equal (g_ptr_array_index (list->names, i), name))
      return g_ptr_array_index (list->tensors, i);
  return NULL;
}

void
gill_tensor_list_free (GillTensorList *list)
{
  if (list == NULL)
    return;
  g_free (list->path);
  g_free (list->format);
  g_ptr_array_unref (list->names);
  g_ptr_array_unref (list->tensors);
  g_hash_table_unref (list->metadata);
  g_free (list);
}

GBytes *
gill_file_map (const gchar *path,
               GError     **error)
{
  GError *local = NULL;
  GMappedFile *mf = g_mapped_file_new (path, FALSE, &local);
  if (mf == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: cannot open: %s; check the path and permissions",
                   path, local->message);
      g_error_free (local);
      return NULL;
    }
  GBytes *bytes = g_mapped_file_get_bytes (mf);
  g_mapped_file_unref (mf);
  return bytes;
}

gboolean
gill_shape_nbytes (gint          n_dims,
                   const gint64 *shape,
                   gsize         item_size,
                   guint64      *nbytes)
{
  guint64 extent = item_size;
  gboolean empty = FALSE;
  for (gint d = 0; d < n_dims; d++)
    {
      if (!g_uint64_checked_mul (&extent, extent, (guint64) MAX (shape[d], 1)) || extent > G_MAXINT64)
        return FALSE;
      empty |= shape[d] == 0;
    }
  *nbytes = empty ? 0 : extent;
  return TRUE;
}

gboolean
gill_dtype_from_numpy (const gchar *code,
                       GillDType   *dtype)
{
  static const struct
  {
    const gchar *code;
    GillDType dtype;
  } types[] = {
    { "f2", GILL_DTYPE_F16 }, { "f4", GILL_DTYPE_F32 }, { "f8", GILL_DTYPE_F64 },
    { "i1", GILL_DTYPE_I8 },  { "i2", GILL_DTYPE_I16 }, { "i4", GILL_DTYPE_I32 },
    { "i8", GILL_DTYPE_I64 }, { "u1", GILL_DTYPE_U8 },  { "u2", GILL_DTYPE_U16 },
    { "u4", GILL_DTYPE_U32 }, { "u8", GILL_DTYPE_U64 }, { "b1", GILL_DTYPE_BOOL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_equal (code, types[i].code))
      {
        *dtype = types[i].dtype;
        return TRUE;
      }
  return FALSE;
}
