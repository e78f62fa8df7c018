/* gill-plugin-config.c — find the model folder: argument, $GILL_MODELS, config.json.
 *
 * config.json (see data/config.json) is a JSON object; the plug-in reads its "models" member, a
 * path to a model folder or weight file.  "~/" at its start means the home folder, and a relative
 * path is taken relative to the folder that holds config.json.  A missing file or an empty
 * "models" is not an error: the lookup just goes on.  A file that exists but cannot be read, is
 * not JSON, or has a "models" that is not a string is an error naming the file.
 */
#include <glib/gi18n.h>

#include "core/gill.h"
#include "plugin/gill-plugin-config.h"

/**
 * gill_plugin_config_get_path:
 *
 * Returns: (transfer full): the configuration file the library reads: $GILL_CONFIG, else
 * `$XDG_CONFIG_HOME/gill/config.json`; the file need not exist.
 */
gchar *
gill_plugin_config_get_path (void)
{
  return gill_config_default_file ();
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
  models = gill_config_get_path (config_path, "models", &local_error);
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
