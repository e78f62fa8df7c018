/* config.c — the JSON configuration that names the model folders (DESIGN.md: configuration).
 *
 * One lookup order everywhere (CLI, plug-in, dialog): an explicit value, then an environment
 * variable, then a key of $GILL_CONFIG or $XDG_CONFIG_HOME/gill/config.json. */
#include "core/gill.h"

#include <json-glib/json-glib.h>

gchar *
gill_config_default_file (void)
{
  const gchar *env = g_getenv ("GILL_CONFIG");
  if (env && *env)
    return g_strdup (env);
  return g_build_filename (g_get_user_config_dir (), "gill", "config.json", NULL);
}

/* "~/x" -> home/x; relative -> beside the configuration file */
static gchar *
config_expand (const gchar *config_file,
               const gchar *value)
{
  if (g_str_has_prefix (value, "~/"))
    return g_build_filename (g_get_home_dir (), value + 2, NULL);
  if (g_path_is_absolute (value))
    return g_strdup (value);
  g_autofree gchar *dir = g_path_get_dirname (config_file);
  return g_build_filename (dir, value, NULL);
}

gchar *
gill_config_get_path (const gchar *config_file,
                      const gchar *key,
                      GError     **error)
{
  g_return_val_if_fail (key != NULL, NULL);
  if (config_file == NULL || !g_file_test (config_file, G_FILE_TEST_EXISTS))
    return NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_mapped_file (parser, config_file, &local)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: %s; fix or remove the configuration file",
                   config_file, local ? local->message : "not a JSON object");
      return NULL;
    }
  JsonNode *member = json_object_get_member (json_node_get_object (json_parser_get_root (parser)), key);
  if (member == NULL || JSON_NODE_HOLDS_NULL (member))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_STRING)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: \"%s\" is not a string; give the folder or file as a string", config_file, key);
      return NULL;
    }
  const gchar *value = json_node_get_string (member);
  return *value ? config_expand (config_file, value) : NULL;
}

gchar *
gill_config_find_path (const gchar *given,
                       const gchar *env,
                       const gchar *config_file,
                       const gchar *key,
                       GError     **error)
{
  if (given && *given)
    return g_strdup (given);
  const gchar *from_env = env ? g_getenv (env) : NULL;
  if (from_env && *from_env)
    return g_strdup (from_env);
  g_autofree gchar *fallback = config_file ? NULL : gill_config_default_file ();
  const gchar *file = config_file ? config_file : fallback;
  GError *local = NULL;
  gchar *path = gill_config_get_path (file, key, &local);
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (path == NULL)
    g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                 "%s: no \"%s\" here; name the folder with an option, with $%s, or as \"%s\" in this file",
                 file, key, env ? env : "?", key);
  return path;
}
