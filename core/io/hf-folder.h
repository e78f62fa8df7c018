/* hf-folder.h — a Hugging Face model folder as users have it: config.json beside the weights
 * (model.safetensors, pytorch_model.bin, or shards with their *.index.json).
 *
 * The folder's config is returned parsed but not interpreted: the model reads its own keys
 * (e.g. gill_opt_config_from_json), so io stays below the models. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/io/store.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *folder;
  gchar *config_path;  /* folder/config.json, for messages */
  JsonObject *config;  /* its top-level object */
  GillStore *store;    /* the weights */
} GillHfFolder;

/* weights: NULL = the folder's preferred weights (an index, then model.safetensors, then
 * pytorch_model.bin), or the name of a file or index inside the folder. Errors: MODEL_MISSING
 * (no config.json, a missing shard), FORMAT (damaged JSON or weights), each naming the file. */
GillHfFolder *gill_hf_folder_open (const gchar  *folder,
                                   const gchar  *weights,
                                   GError      **error);
void          gill_hf_folder_free (GillHfFolder *hf);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillHfFolder, gill_hf_folder_free)

G_END_DECLS
