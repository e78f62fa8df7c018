/* hf-folder.c — config.json + weights of a Hugging Face model folder. */
#include "core/io/hf-folder.h"

#include "core/base/error.h"

void
gill_hf_folder_free (GillHfFolder *hf)
{
  if (hf == NULL)
    return;
  g_free (hf->folder);
  g_free (hf->config_path);
  g_clear_pointer (&hf->config, json_object_unref);
  gill_store_free (hf->store);
  g_free (hf);
}

static JsonObject *
hf_folder_config (const gchar *path,
                  GError     **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "%s: missing; a Hugging Face model folder has its config.json beside the weights", path);
      return NULL;
    }
  if (!json_parser_load_from_mapped_file (parser, path, &local))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: %s; the JSON is damaged: re-download the file", path,
                   local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: not a JSON object; is this a model's config.json?", path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

GillHfFolder *
gill_hf_folder_open (const gchar  *folder,
                     const gchar  *weights,
                     GError      **error)
{
  g_return_val_if_fail (folder != NULL, NULL);
  g_autoptr (GillHfFolder) hf = g_new0 (GillHfFolder, 1);
  hf->folder = g_strdup (folder);
  hf->config_path = g_build_filename (folder, "config.json", NULL);
  hf->store = gill_store_new ();
  if ((hf->config = hf_folder_config (hf->config_path, error)) == NULL)
    return NULL;
  g_autofree gchar *path = weights ? g_build_filename (folder, weights, NULL) : g_strdup (folder);
  if (!gill_store_add_path (hf->store, path, error))
    return NULL;
  return g_steal_pointer (&hf);
}
