/* json-config.h — typed members of a model's config.json (diffusers, Hugging Face): each getter
 * gives the member's value, or the fallback when it is absent or null, and fails with
 * GILL_ERROR_FORMAT naming the file and the key when it is present with another type. One set of
 * rules for every model's config (OPT, UNet, VAE). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* absent or null -> fallback; another type -> FORMAT naming the file and the key */
gboolean     gill_json_config_int      (JsonObject   *json,
                                        const gchar  *file,
                                        const gchar  *key,
                                        gint64        fallback,
                                        gint64       *out,
                                        GError      **error);
gboolean     gill_json_config_double   (JsonObject   *json,
                                        const gchar  *file,
                                        const gchar  *key,
                                        double        fallback,
                                        double       *out,
                                        GError      **error);
gboolean     gill_json_config_bool     (JsonObject   *json,
                                        const gchar  *file,
                                        const gchar  *key,
                                        gboolean      fallback,
                                        gboolean     *out,
                                        GError      **error);
/* the string, or NULL when absent, null or not a string */
const gchar *gill_json_config_string   (JsonObject   *json,
                                        const gchar  *key);
/* a list of 1..max integers into out (absent: *n_out = 0, TRUE); a single integer counts as a
 * list of one (diffusers accepts both for attention_head_dim) */
gboolean     gill_json_config_ints     (JsonObject   *json,
                                        const gchar  *file,
                                        const gchar  *key,
                                        gint64       *out,
                                        gint64        max,
                                        gint64       *n_out,
                                        GError      **error);
/* a list of strings (absent: an empty list); (transfer full) */
gchar      **gill_json_config_strings  (JsonObject   *json,
                                        const gchar  *file,
                                        const gchar  *key,
                                        GError      **error);

G_END_DECLS
