/* json-config.c — typed members of a model's config.json (see json-config.h). */
#include "core/io/json-config.h"

#include "core/base/error.h"

static JsonNode *
config_member (JsonObject  *json,
               const gchar *key)
{
  JsonNode *node = json_object_get_member (json, key);
  return node == NULL || JSON_NODE_HOLDS_NULL (node) ? NULL : node;
}

/* a present member (or list element) holding a value of `type` (G_TYPE_INT64, …) */
static gboolean
holds (JsonNode *node,
       GType     type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static gboolean
config_type_error (const gchar *file,
                   const gchar *key,
                   const gchar *expected,
                   GError     **error)
{
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: key '%s' is not %s", file, key, expected);
  return FALSE;
}

/* each getter: the member's value, or the fallback when it is absent or null; TRUE unless it is
 * present with another type */

gboolean
gill_json_config_int (JsonObject  *json,
                      const gchar *file,
                      const gchar *key,
                      gint64       fallback,
                      gint64      *out,
                      GError     **error)
{
  JsonNode *node = config_member (json, key);
  *out = holds (node, G_TYPE_INT64) ? json_node_get_int (node) : fallback;
  return node == NULL || holds (node, G_TYPE_INT64) || config_type_error (file, key, "an integer", error);
}

/* an integer counts as a number (json_node_get_double converts it) */
gboolean
gill_json_config_double (JsonObject  *json,
                         const gchar *file,
                         const gchar *key,
                         double       fallback,
                         double      *out,
                         GError     **error)
{
  JsonNode *node = config_member (json, key);
  gboolean number = holds (node, G_TYPE_INT64) || holds (node, G_TYPE_DOUBLE);
  *out = number ? json_node_get_double (node) : fallback;
  return node == NULL || number || config_type_error (file, key, "a number", error);
}

gboolean
gill_json_config_bool (JsonObject  *json,
                       const gchar *file,
                       const gchar *key,
                       gboolean     fallback,
                       gboolean    *out,
                       GError     **error)
{
  JsonNode *node = config_member (json, key);
  *out = holds (node, G_TYPE_BOOLEAN) ? json_node_get_boolean (node) : fallback;
  return node == NULL || holds (node, G_TYPE_BOOLEAN) || config_type_error (file, key, "true or false", error);
}

const gchar *
gill_json_config_string (JsonObject  *json,
                         const gchar *key)
{
  JsonNode *node = config_member (json, key);
  return holds (node, G_TYPE_STRING) ? json_node_get_string (node) : NULL;
}

gboolean
gill_json_config_ints (JsonObject  *json,
                       const gchar *file,
                       const gchar *key,
                       gint64      *out,
                       gint64       max,
                       gint64      *n_out,
                       GError     **error)
{
  JsonNode *node = config_member (json, key);
  *n_out = 0;
  if (node == NULL)
    return TRUE;
  if (holds (node, G_TYPE_INT64))
    {
      out[0] = json_node_get_int (node);
      *n_out = 1;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return config_type_error (file, key, "a list of integers", error);
  JsonArray *array = json_node_get_array (node);
  guint n = json_array_get_length (array);
  if (n == 0 || n > max)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED, "%s: key '%s' has %u entries; 1 to %" G_GINT64_FORMAT
                   " are supported", file, key, n, max);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      if (!holds (e, G_TYPE_INT64))
        return config_type_error (file, key, "a list of integers", error);
      out[i] = json_node_get_int (e);
    }
  *n_out = n;
  return TRUE;
}

gchar **
gill_json_config_strings (JsonObject  *json,
                          const gchar *file,
                          const gchar *key,
                          GError     **error)
{
  JsonNode *node = config_member (json, key);
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_ARRAY (node))
        {
          config_type_error (file, key, "a list of strings", error);
          return NULL;
        }
      JsonArray *array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *e = json_array_get_element (array, i);
          if (!holds (e, G_TYPE_STRING))
            {
              config_type_error (file, key, "a list of strings", error);
              return NULL;
            }
          g_strv_builder_add (b, json_node_get_string (e));
        }
    }
  return g_strv_builder_end (b);
}
