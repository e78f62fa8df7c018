/* store.c — GillStore: files by magic, shard indexes, prefix aliases, checked lookups.
 *
 * Formats: models.md §4 (safetensors 4.1, PyTorch zip 4.2, plain pickles 4.4, npy 4.5); shard
 * indexes are `{"metadata": {...}, "weight_map": {name: file}}`. */
#include "core/io/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "core/base/error.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/io/torch.h"
#include "core/io/zip.h"

typedef struct
{
  GillTensor *tensor;   /* borrowed from its list */
  GillTensorList *list; /* the file it came from */
} Entry;

struct _GillStore
{
  GPtrArray *lists;     /* GillTensorList*, owned */
  GHashTable *entries;  /* name -> Entry*, owned */
  GPtrArray *aliases;   /* pairs of prefixes: a0, b0, a1, b1, ... */
};

/* ------------------------------------------------------------------ formats by magic */

GillFormat
gill_format_sniff (const guint8 *head,
                   gsize         len)
{
  if (gill_npy_sniff (head, len))
    return GILL_FORMAT_NPY;
  if (gill_zip_sniff (head, len))
    return GILL_FORMAT_PYTORCH_ZIP;
  if (gill_pickle_sniff (head, len))
    return GILL_FORMAT_PICKLE;
  if (gill_safetensors_sniff (head, len))
    return GILL_FORMAT_SAFETENSORS;
  return GILL_FORMAT_UNKNOWN;
}

const gchar *
gill_format_name (GillFormat format)
{
  switch (format)
    {
    case GILL_FORMAT_SAFETENSORS: return "safetensors";
    case GILL_FORMAT_PYTORCH_ZIP: return "pytorch-zip";
    case GILL_FORMAT_PICKLE: return "pickle";
    case GILL_FORMAT_NPY: return "npy";
    default: return "unknown";
    }
}

static gboolean
read_head (const gchar *path,
           guint8      *head,
           gsize       *len,
           GError     **error)
{
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    {
      g_set_error (error, GILL_ERROR, g_file_test (path, G_FILE_TEST_EXISTS) ? GILL_ERROR_IO : GILL_ERROR_MODEL_MISSING,
                   "%s: cannot open: %s; check the path", path, g_strerror (errno));
      return FALSE;
    }
  *len = fread (head, 1, *len, f);
  fclose (f);
  return TRUE;
}

GillTensorList *
gill_weights_open_file (const gchar *path,
                        GError     **error)
{
  guint8 head[16];
  gsize len = sizeof head;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: is a folder, not a weight file", path);
      return NULL;
    }
  if (!read_head (path, head, &len, error))
    return NULL;
  switch (gill_format_sniff (head, len))
    {
    case GILL_FORMAT_SAFETENSORS: return gill_safetensors_open (path, error);
    case GILL_FORMAT_NPY: return gill_npy_open (path, error);
    case GILL_FORMAT_PYTORCH_ZIP:
    case GILL_FORMAT_PICKLE: return gill_torch_open (path, error);
    default:
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: not a weight file gill knows (safetensors, PyTorch zip, pickle or npy: "
                   "told apart by their first bytes); is the file complete?", path);
      return NULL;
    }
}

/* ------------------------------------------------------------------ the store */

GillStore *
gill_store_new (void)
{
  GillStore *store = g_new0 (GillStore, 1);
  store->lists = g_ptr_array_new_with_free_func ((GDestroyNotify) gill_tensor_list_free);
  store->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  store->aliases = g_ptr_array_new_with_free_func (g_free);
  return store;
}

void
gill_store_free (GillStore *store)
{
  if (store == NULL)
    return;
  g_hash_table_unref (store->entries);
  g_ptr_array_unref (store->lists);
  g_ptr_array_unref (store->aliases);
  g_free (store);
}

/* take a list's tensors into the store; a name seen in an earlier file is an error */
static gboolean
store_take_list (GillStore      *store,
                 GillTensorList *list,
                 GError        **error)
{
  for (guint i = 0; i < list->names->len; i++)
    {
      const gchar *name = g_ptr_array_index (list->names, i);
      Entry *prior = g_hash_table_lookup (store->entries, name);
      if (prior)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "%s: tensor '%s' is also in %s; a model's files must not repeat a tensor",
                       list->path, name, prior->list->path);
          gill_tensor_list_free (list);
          return FALSE;
        }
    }
  for (guint i = 0; i < list->names->len; i++)
    {
      Entry *e = g_new (Entry, 1);
      e->tensor = g_ptr_array_index (list->tensors, i);
      e->list = list;
      /* a file may repeat a name (pickles): the first one wins */
      if (!g_hash_table_contains (store->entries, g_ptr_array_index (list->names, i)))
        g_hash_table_insert (store->entries, g_strdup (g_ptr_array_index (list->names, i)), e);
      else
        g_free (e);
    }
  g_ptr_array_add (store->lists, list);
  return TRUE;
}

gboolean
gill_store_add_file (GillStore   *store,
                     const gchar *path,
                     GError     **error)
{
  g_return_val_if_fail (store != NULL && path != NULL, FALSE);
  GillTensorList *list = gill_weights_open_file (path, error);
  if (list == NULL)
    return FALSE;
  return store_take_list (store, list, error);
}

static JsonNode *
load_json_file (const gchar *path,
                GError     **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_mapped_file (parser, path, &local))
    {
      gboolean missing = g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      g_set_error (error, GILL_ERROR, missing ? GILL_ERROR_MODEL_MISSING : GILL_ERROR_FORMAT,
                   "%s: %s; %s", path, local->message,
                   missing ? "check the path" : "the JSON is damaged: re-download the file");
      return NULL;
    }
  return json_node_copy (json_parser_get_root (parser));
}

gboolean
gill_store_add_index (GillStore   *store,
                      const gchar *index_path,
                      GError     **error)
{
  g_autoptr (JsonNode) root = load_json_file (index_path, error);
  if (root == NULL)
    return FALSE;
  JsonObject *weight_map = NULL;
  if (JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonNode *wm = json_object_get_member (json_node_get_object (root), "weight_map");
      if (wm && JSON_NODE_HOLDS_OBJECT (wm))
        weight_map = json_node_get_object (wm);
    }
  if (weight_map == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: no \"weight_map\" object; is this a Hugging Face shard index?", index_path);
      return FALSE;
    }

  /* shards in the order they first appear; each opened once */
  g_autofree gchar *folder = g_path_get_dirname (index_path);
  g_autoptr (GHashTable) shards = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GList) members = json_object_get_members (weight_map);
  for (GList *l = members; l; l = l->next)
    {
      JsonNode *file = json_object_get_member (weight_map, l->data);
      if (!JSON_NODE_HOLDS_VALUE (file) || json_node_get_value_type (file) != G_TYPE_STRING)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "%s: weight_map entry '%s' is not a file name", index_path, (gchar *) l->data);
          return FALSE;
        }
      const gchar *shard = json_node_get_string (file);
      if (strchr (shard, '/') || strcmp (shard, "..") == 0)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "%s: shard name '%s' leaves the folder; shards must sit beside the index",
                       index_path, shard);
          return FALSE;
        }
      if (!g_hash_table_contains (shards, shard))
        {
          g_hash_table_add (shards, (gpointer) shard);
          g_autofree gchar *path = g_build_filename (folder, shard, NULL);
          if (!g_file_test (path, G_FILE_TEST_EXISTS))
            {
              g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                           "%s: shard '%s' named by the index is missing; download every shard the index lists",
                           index_path, shard);
              return FALSE;
            }
          if (!gill_store_add_file (store, path, error))
            return FALSE;
        }
    }
  /* every indexed name is where the index says */
  for (GList *l = members; l; l = l->next)
    {
      const gchar *shard = json_object_get_string_member (weight_map, l->data);
      Entry *e = g_hash_table_lookup (store->entries, l->data);
      g_autofree gchar *base = e ? g_path_get_basename (e->list->path) : NULL;
      if (e == NULL || g_strcmp0 (base, shard) != 0)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                       "%s: tensor '%s' should be in %s but %s; the shards do not match the index",
                       index_path, (gchar *) l->data, shard, e ? "is in another shard" : "is not there");
          return FALSE;
        }
    }
  return TRUE;
}

/* weight file names a model folder may hold, in order of preference */
static const gchar *const folder_indexes[] = {
  "model.safetensors.index.json", "pytorch_model.bin.index.json",
  "diffusion_pytorch_model.safetensors.index.json", "diffusion_pytorch_model.bin.index.json",
};
static const gchar *const folder_files[] = {
  "model.safetensors", "pytorch_model.bin", "diffusion_pytorch_model.safetensors",
  "diffusion_pytorch_model.bin",
};

gboolean
gill_store_add_path (GillStore   *store,
                     const gchar *path,
                     GError     **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no such file or folder; check the path", path);
      return FALSE;
    }
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return g_str_has_suffix (path, ".index.json") ? gill_store_add_index (store, path, error)
                                                  : gill_store_add_file (store, path, error);
  for (gsize i = 0; i < G_N_ELEMENTS (folder_indexes); i++)
    {
      g_autofree gchar *p = g_build_filename (path, folder_indexes[i], NULL);
      if (g_file_test (p, G_FILE_TEST_EXISTS))
        return gill_store_add_index (store, p, error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (folder_files); i++)
    {
      g_autofree gchar *p = g_build_filename (path, folder_files[i], NULL);
      if (g_file_test (p, G_FILE_TEST_EXISTS))
        return gill_store_add_file (store, p, error);
    }
  g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
               "%s: no weights here (looked for a shard index, model.safetensors, pytorch_model.bin "
               "and diffusion_pytorch_model.*); is this the model folder?", path);
  return FALSE;
}

void
gill_store_alias_prefix (GillStore   *store,
                         const gchar *a,
                         const gchar *b)
{
  g_ptr_array_add (store->aliases, g_strdup (a));
  g_ptr_array_add (store->aliases, g_strdup (b));
}

static Entry *
store_find (const GillStore *store,
            const gchar     *name)
{
  Entry *e = g_hash_table_lookup (store->entries, name);
  for (guint i = 0; e == NULL && i + 1 < store->aliases->len; i += 2)
    for (guint side = 0; side < 2 && e == NULL; side++)
      {
        const gchar *from = g_ptr_array_index (store->aliases, i + side);
        const gchar *to = g_ptr_array_index (store->aliases, i + 1 - side);
        if (g_str_has_prefix (name, from))
          {
            g_autofree gchar *other = g_strconcat (to, name + strlen (from), NULL);
            e = g_hash_table_lookup (store->entries, other);
          }
      }
  return e;
}

GillTensor *
gill_store_lookup (const GillStore *store,
                   const gchar     *name)
{
  Entry *e = store_find (store, name);
  return e ? e->tensor : NULL;
}

const gchar *
gill_store_file_of (const GillStore *store,
                    const gchar     *name)
{
  Entry *e = store_find (store, name);
  return e ? e->list->path : NULL;
}

static gchar *
store_files_string (const GillStore *store)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < store->lists->len && i < 4; i++)
    {
      GillTensorList *l = g_ptr_array_index (store->lists, i);
      g_string_append_printf (s, "%s%s", i ? ", " : "", l->path);
    }
  if (store->lists->len > 4)
    g_string_append_printf (s, " and %u more", store->lists->len - 4);
  if (store->lists->len == 0)
    g_string_append (s, "(no files)");
  return g_string_free (s, FALSE);
}

GillTensor *
gill_store_get (const GillStore *store,
                const gchar     *name,
                gint             n_dims,
                const gint64    *shape,
                GError         **error)
{
  Entry *e = store_find (store, name);
  if (e == NULL)
    {
      g_autofree gchar *files = store_files_string (store);
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "%s: tensor '%s' is missing; is this the right model, complete and unconverted?",
                   files, name);
      return NULL;
    }
  if (n_dims >= 0 && !gill_tensor_has_shape (e->tensor, n_dims, shape))
    {
      g_autofree gchar *want = gill_shape_string (n_dims, shape);
      g_autofree gchar *got = gill_tensor_shape_string (e->tensor);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "%s: tensor '%s': expected %s, found %s %s; does config.json belong to these weights?",
                   e->list->path, name, want, got, gill_dtype_name (e->tensor->dtype));
      return NULL;
    }
  return e->tensor;
}

guint
gill_store_n_tensors (const GillStore *store)
{
  return g_hash_table_size (store->entries);
}

guint64
gill_store_total_bytes (const GillStore *store)
{
  guint64 total = 0;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, store->entries);
  while (g_hash_table_iter_next (&it, NULL, &value))
    total += gill_tensor_nbytes (((Entry *) value)->tensor);
  return total;
}

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const gchar *const *) a, *(const gchar *const *) b);
}

GPtrArray *
gill_store_names_sorted (const GillStore *store)
{
  GPtrArray *names = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, store->entries);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (names, key);
  g_ptr_array_sort (names, compare_names);
  return names;
}

const GPtrArray *
gill_store_files (const GillStore *store)
{
  return store->lists;
}

static GillTensor *
weights_lookup (gconstpointer source,
                const gchar  *name)
{
  return gill_store_lookup (source, name);
}

static const gchar *
weights_origin (gconstpointer source,
                const gchar  *name)
{
  return gill_store_file_of (source, name);
}

GillWeights
gill_store_weights (const GillStore *store)
{
  GillWeights w = { weights_lookup, weights_origin, store, NULL };
  return w;
}
