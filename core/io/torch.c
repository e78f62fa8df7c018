/* torch.c — PyTorch checkpoints (models.md §4.2–4.4): torch.save's zip and plain pickles, told
 * apart by their first bytes.
 *
 *   zip     "PK\3\4"; `<prefix>/data.pkl` is the object, `<prefix>/data/<key>` the storages,
 *           `<prefix>/byteorder` (torch >= 2.1) "little" or absent
 *   pickle  "\x80" + protocol 2..5 (pickle.dump; GILL's cc3m_embeddings_urls.npy)
 *   legacy  a protocol-2 pickle of LONG1 0x1950a86a20f9469cfc6c, then more pickles and raw
 *           storages (torch < 1.6 or _use_new_zipfile_serialization=False): refused */
#include "core/io/torch.h"

#include <string.h>

#include "core/base/error.h"
#include "core/io/pickle.h"
#include "core/io/zip.h"

/* the legacy format's first pickle: PROTO 2, LONG1 of 10 bytes holding the magic number */
static const guint8 legacy_magic[] = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                       0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19 };

gboolean
gill_pickle_sniff (const guint8 *head,
                   gsize         len)
{
  return len >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5;
}

static gboolean
torch_is_legacy (const guint8 *head,
                 gsize         len)
{
  return len >= sizeof legacy_magic && memcmp (head, legacy_magic, sizeof legacy_magic) == 0;
}

typedef struct
{
  const GillZip *zip;
  const gchar *prefix; /* "archive/" or "" */
} ZipStorages;

/* persistent id key k -> the bytes of `<prefix>/data/k`, a view into the mapping */
static GBytes *
torch_zip_storage (const gchar *key,
                   gpointer     user_data,
                   GError     **error)
{
  const ZipStorages *storages = user_data;
  g_autofree gchar *entry = g_strconcat (storages->prefix, "data/", key, NULL);
  return gill_zip_read (storages->zip, entry, error);
}

/* the one entry named data.pkl at the top level or one folder down; its folder is the prefix */
static gchar *
torch_zip_prefix (const GillZip *zip,
                  const gchar   *name,
                  GError       **error)
{
  g_autofree gchar *found = NULL;

  for (guint i = 0; i < gill_zip_n_entries (zip); i++)
    {
      const gchar *entry = gill_zip_entry_name (zip, i);
      const gchar *slash = strchr (entry, '/');
      if (!(g_str_equal (entry, "data.pkl") || (slash && g_str_equal (slash + 1, "data.pkl"))))
        continue;
      if (found)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "%s: the archive holds two pickles, '%s' and '%s'; torch.save writes one",
                       name, found, entry);
          return NULL;
        }
      found = g_strdup (entry);
    }
  if (found == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: a zip without '<name>/data.pkl', so not a torch.save checkpoint", name);
      return NULL;
    }
  found[strlen (found) - strlen ("data.pkl")] = '\0';
  return g_steal_pointer (&found);
}

/* `<prefix>/byteorder`, written since torch 2.1, must say "little"; absent means little */
static gboolean
torch_zip_check_byteorder (const GillZip *zip,
                           const gchar   *prefix,
                           const gchar   *name,
                           GError       **error)
{
  g_autofree gchar *entry = g_strconcat (prefix, "byteorder", NULL);
  if (!gill_zip_contains (zip, entry))
    return TRUE;
  g_autoptr (GBytes) bytes = gill_zip_read (zip, entry, error);
  if (bytes == NULL)
    return FALSE;
  gsize len;
  const gchar *text = g_bytes_get_data (bytes, &len);
  while (len > 0 && g_ascii_isspace (text[len - 1]))
    len--;
  if (len == 6 && memcmp (text, "little", 6) == 0)
    return TRUE;
  g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
               "%s: the checkpoint was saved on a big-endian machine (%s is not \"little\"); "
               "gill reads little-endian checkpoints only", name, entry);
  return FALSE;
}

GillValue *
gill_torch_load_zip (GBytes      *bytes,
                     const gchar *name,
                     GError     **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);

  g_autoptr (GillZip) zip = gill_zip_open_bytes (bytes, name, error);
  if (zip == NULL)
    return NULL;
  g_autofree gchar *prefix = torch_zip_prefix (zip, name, error);
  if (prefix == NULL || !torch_zip_check_byteorder (zip, prefix, name, error))
    return NULL;
  g_autofree gchar *pickle_entry = g_strconcat (prefix, "data.pkl", NULL);
  g_autoptr (GBytes) pickle = gill_zip_read (zip, pickle_entry, error);
  if (pickle == NULL)
    return NULL;
  ZipStorages storages = { zip, prefix };
  GillPickleOptions options = { name, torch_zip_storage, &storages, FALSE };
  return gill_pickle_load_bytes (pickle, &options, error);
}

GillValue *
gill_torch_load_pickle (GBytes      *bytes,
                        const gchar *name,
                        GError     **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);

  GillPickleOptions options = { name, NULL, NULL, TRUE };
  return gill_pickle_load_bytes (bytes, &options, error);
}

/* by magic: zip, legacy torch (refused), or plain pickle */
static GillValue *
torch_load_bytes (GBytes       *bytes,
                  const gchar  *path,
                  const gchar **format,
                  GError      **error)
{
  gsize len;
  const guint8 *head = g_bytes_get_data (bytes, &len);

  if (gill_zip_sniff (head, len))
    {
      *format = "pytorch-zip";
      return gill_torch_load_zip (bytes, path, error);
    }
  if (torch_is_legacy (head, len))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: a checkpoint in torch's legacy format (torch < 1.6 or "
                   "_use_new_zipfile_serialization=False), which gill does not read; re-save it "
                   "with torch.save (torch >= 1.6)", path);
      return NULL;
    }
  if (gill_pickle_sniff (head, len))
    {
      *format = "pickle";
      return gill_torch_load_pickle (bytes, path, error);
    }
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
               "%s: neither a torch.save zip (\"PK\\3\\4\") nor a pickle (\"\\x80\" + protocol "
               "2-5) by its first bytes; is this a PyTorch checkpoint?", path);
  return NULL;
}

GillValue *
gill_torch_load (const gchar *path,
                 GError     **error)
{
  const gchar *format;

  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (GBytes) bytes = gill_file_map (path, error);
  return bytes ? torch_load_bytes (bytes, path, &format, error) : NULL;
}

GillTensorList *
gill_torch_open (const gchar *path,
                 GError     **error)
{
  const gchar *format = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (GBytes) bytes = gill_file_map (path, error);
  if (bytes == NULL)
    return NULL;
  g_autoptr (GillValue) root = torch_load_bytes (bytes, path, &format, error);
  if (root == NULL)
    return NULL;
  GillTensorList *list = gill_tensor_list_new (path, format);
  gill_value_collect_tensors (root, list);
  return list;
}
