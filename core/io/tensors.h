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

/* The bytes a C-contiguous tensor of this shape needs (0 when a dimension is 0), or FALSE when
 * the shape is too large to address: the product of the dimensions (zeros counted as 1, as
 * strides are) times item_size must fit a gint64, so that numel, strides and byte offsets
 * computed later cannot overflow. Readers turn FALSE into their own message. */
gboolean        gill_shape_nbytes     (gint              n_dims,
                                       const gint64     *shape,
                                       gsize             item_size,
                                       guint64          *nbytes);
/* numpy's short dtype codes without the byte order ("f4", "i8", "u1", "b1"), as .npy descrs
 * and pickled numpy.dtype spell them; FALSE for any other (objects, strings, complex, ...) */
gboolean        gill_dtype_from_numpy (const gchar      *code,
                                       GillDType        *dtype);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillTensorList, gill_tensor_list_free)

G_END_DECLS
