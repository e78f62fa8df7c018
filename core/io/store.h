/* store.h — GillStore: one name -> tensor lookup over every weight file of a model.
 *
 * A store opens files by their magic bytes (safetensors, PyTorch zip, plain pickle, npy), follows
 * Hugging Face shard indexes, and answers lookups with views into the mappings. Prefix aliases
 * make `decoder.x` and `model.decoder.x` the same name, so a model asks for one canonical name
 * whatever the checkpoint's convention. Models borrow tensors; the store owns them. */
#pragma once

#include <glib.h>

#include "core/base/tensor.h"
#include "core/base/weights.h"
#include "core/io/tensors.h"

G_BEGIN_DECLS

typedef struct _GillStore GillStore;

typedef enum
{
  GILL_FORMAT_UNKNOWN,
  GILL_FORMAT_SAFETENSORS,
  GILL_FORMAT_PYTORCH_ZIP,
  GILL_FORMAT_PICKLE,
  GILL_FORMAT_NPY,
} GillFormat;

/* what a file is, from its first bytes */
GillFormat      gill_format_sniff        (const guint8 *head,
                                          gsize         len);
const gchar    *gill_format_name         (GillFormat    format);
/* open one weight file of any supported format */
GillTensorList *gill_weights_open_file   (const gchar  *path,
                                          GError      **error);

GillStore      *gill_store_new           (void);
void            gill_store_free          (GillStore    *store);
/* add every tensor of one file; a name already present is an error (FORMAT) */
gboolean        gill_store_add_file      (GillStore    *store,
                                          const gchar  *path,
                                          GError      **error);
/* add the shards a Hugging Face index (`*.index.json`) names; every name of its weight_map must be
 * found in the shard it names */
gboolean        gill_store_add_index     (GillStore    *store,
                                          const gchar  *index_path,
                                          GError      **error);
/* a weight file, or a folder holding an index, model.safetensors, pytorch_model.bin or the
 * diffusers names (diffusion_pytorch_model.*), safetensors preferred */
gboolean        gill_store_add_path      (GillStore    *store,
                                          const gchar  *path,
                                          GError      **error);
/* treat names starting with `a` and with `b` as the same name (e.g. "model.decoder.", "decoder.") */
void            gill_store_alias_prefix  (GillStore    *store,
                                          const gchar  *a,
                                          const gchar  *b);

/* (transfer none) the tensor, or NULL when absent */
GillTensor     *gill_store_lookup        (const GillStore *store,
                                          const gchar     *name);
/* (transfer none) the tensor with exactly this shape (n_dims = -1: any), or NULL + error
 * (MODEL_MISSING naming the name and files, SHAPE with got/expected) */
GillTensor     *gill_store_get           (const GillStore *store,
                                          const gchar     *name,
                                          gint             n_dims,
                                          const gint64    *shape,
                                          GError         **error);
/* the file a name came from (for messages), or NULL */
const gchar    *gill_store_file_of       (const GillStore *store,
                                          const gchar     *name);
guint           gill_store_n_tensors     (const GillStore *store);
guint64         gill_store_total_bytes   (const GillStore *store);
/* the store as a model's weight lookup (borrows the store: keep it alive) */
GillWeights     gill_store_weights       (const GillStore *store);
/* every name, sorted (transfer container: free the array, not the strings) */
GPtrArray      *gill_store_names_sorted  (const GillStore *store);
/* the opened files, in order (transfer none) */
const GPtrArray *gill_store_files        (const GillStore *store); /* GillTensorList* */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillStore, gill_store_free)

G_END_DECLS
