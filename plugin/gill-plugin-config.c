/* gill-plugin-config.c — find the model folder: argument, $GILL_MODELS, config.json.
 *
 * config.json (see data/config.json) is a JSON object; the plug-in reads its "models" member, a
 * path to a model folder or weight file.  "~/" at its start means the home folder, and a relative
 * path is taken relative to the folder that holds config.json.  A missing file or an empty
 * "models" is not an error: the lookup just goes on.  A file that exists but cannot be read, is
 * not JSON, or has a "models" that is not a string is an error naming the file.
 */
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "core/gill.h"
#include "plugin/gill-plugin-config.h"

/**
 * gill_plugin_config_get_path:
 *
 * Returns: (transfer full): the path of the user's config.json,
 * `$XDG_CONFIG_HOME/gill/config.json`; the file need not exist.
 */
gchar *
gill_plugin_config_get_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "gill", "config.json", NULL);
}

/* Resolve @value from the config file at @config_path: "~/" → home, relative → beside the file. */
static gchar *
plugin_config_expand (const gchar *config_path,
                      const gchar *value)
{
  g_autofree gchar *config_dir = NULL;

  if (g_str_has_prefix (value, "~/"))
    return g_build_filename (g_get_home_dir (), value + 2, NULL);
  if (g_path_is_absolute (value))
    return g_strdup (value);

  config_dir = g_path_get_dirname (config_path);
  return g_build_filename (config_dir, value, NULL);
}

/* Read "models" from config.json.  Returns %NULL without setting @error when the file does not
 * exist or names no models; %NULL with @error set when it exists but is broken. */
static gchar *
plugin_config_read_models (const gchar *config_path,
                           GError     **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonNode *member;
  const gchar *value;

  if (! json_parser_load_from_mapped_file (parser, config_path, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return NULL;

      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   _("%s: cannot read the configuration: %s; fix the file or remove it"),
                   config_path, local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || ! JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   _("%s: expected a JSON object such as {\"models\": \"/path/to/models\"}, "
                     "found something else; fix the file or remove it"),
                   config_path);
      return NULL;
    }

  object = json_node_get_object (root);
  member = json_object_get_member (object, "models");
  if (member == NULL || JSON_NODE_HOLDS_NULL (member))
    return NULL;

  if (! JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_STRING)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   _("%s: member \"models\": expected a string (a folder path), found %s; "
                     "fix the file"),
                   config_path, json_node_type_name (member));
      return NULL;
    }

  value = json_node_get_string (member);
  if (value == NULL || *value == '\0')
    return NULL;

  return plugin_config_expand (config_path, value);
}

/**
 * gill_plugin_config_find_models:
 * @argument: (nullable): the path the caller was given, or %NULL / "" when none
 * @error: return location for a #GError
 *
 * Picks the model folder (or weight file) to use: @argument if set, else the environment
 * variable %GILL_PLUGIN_CONFIG_MODELS_ENV if set, else the "models" member of config.json.  The
 * path is not checked here; the library reports a path that does not exist.
 *
 * Returns: (transfer full): the path, or %NULL with @error set (%GILL_ERROR_FORMAT for a broken
 * config.json, %GILL_ERROR_MODEL_MISSING when nothing names a model).
 */
gchar *
gill_plugin_config_find_models (const gchar *argument,
                                GError     **error)
{
  g_autofree gchar *config_path = NULL;
  g_autoptr (GError) local_error = NULL;
  const gchar *env;
  gchar *models;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (argument != NULL && *argument != '\0')
    return g_strdup (argument);

  env = g_getenv (GILL_PLUGIN_CONFIG_MODELS_ENV);
  if (env != NULL && *env != '\0')
    return g_strdup (env);

  config_path = gill_plugin_config_get_path ();
  models = plugin_config_read_models (config_path, &local_error);
  if (models != NULL)
    return models;
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
               _("No model folder given: choose one in the \"models\" argument, "
                 "set the environment variable %s, or set \"models\" in %s"),
               GILL_PLUGIN_CONFIG_MODELS_ENV, config_path);
  return NULL;
}
