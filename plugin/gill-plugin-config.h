/* gill-plugin-config.h — where the plug-in finds the models: its own argument, then
 * $GILL_MODELS, then the "models" member of $XDG_CONFIG_HOME/gill/config.json.
 *
 * The CLI will want the same lookup; when the library grows a public config API this file goes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Overrides config.json; the plug-in argument overrides both. */
#define GILL_PLUGIN_CONFIG_MODELS_ENV "GILL_MODELS"

gchar *gill_plugin_config_get_path    (void);
gchar *gill_plugin_config_find_models (const gchar *argument,
                                       GError     **error);

G_END_DECLS
