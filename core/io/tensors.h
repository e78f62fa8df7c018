/* tensors.h — GillTensorList: the named tensors of one weight file, in file order.
 *
 * Every reader (safetensors, PyTorch zip, npy) produces one; the weight store (store.h) merges
 * many of them into one name -> tensor lookup. Tensors are views into the file's mapping. */
#pragma once

#include <glib.h>

#include "core/base/tensor.h"

G_BEGIN_DECLS

typedef struct _GillTensorList GillTensorList;

struct _GillTensorList
{
  gchar *path;          /* the file, for messages */
  gchar *format;        /* "safetensors", "pytorch-zip", "npy", ... */
  GPtrArray *names;     /* gchar*, owned */
  GPtrArray *tensors;   /* GillTensor*, owned, parallel to names */
  GHashTable *metadata; /* gchar* -> gchar* (safetensors __metadata__), may be empty */
};

GillTensorList *gill_tensor_list_new  (const gchar      *path,
                                       const gchar      *format);
void            gill_tensor_list_add  (GillTensorList   *list,
                                       const gchar      *name,
                                       GillTensor       *tensor); /* ref taken */
GillTensor     *gill_tensor_list_find (const GillTensorList *list,
                                       const gchar      *name);   /* (transfer none) or NULL */
void            gill_tensor_list_free (GillTensorList   *list);

/* Map a whole file read-only. Errors: GILL_ERROR_IO naming the file. */
GBytes         *gill_file_map         (const gchar      *path,
                                       GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillTensorList, gill_tensor_list_free)

G_END_DECLS
