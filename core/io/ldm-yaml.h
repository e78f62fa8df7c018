/* ldm-yaml.h — the LDM config beside a single-file Stable Diffusion checkpoint
 * (v1-inference.yaml and friends), read as a flat table of dotted keys.
 *
 *   model:                               "model.target"          -> "ldm.models...LatentDiffusion"
 *     target: ldm.models...LatentDiffusion
 *     params:                            "model.params.unet_config.params.channel_mult" -> "[1, 2, 4, 4]"
 *       unet_config:
 *         params:
 *           channel_mult: [1, 2, 4, 4]   # comments dropped
 *
 * The subset those files use, parsed line by line (no YAML library): block mappings by
 * indentation (spaces only), scalars plain or quoted ("..." with \" and \\, '...' with ''), flow
 * lists kept as their text ("[1, 2, 4, 4]"; gill_ldm_yaml_get_int_list splits them), block
 * sequences ("- x", "- key: value") as keys ending in the item index ("list.0", "list.0.key"),
 * comments (a '#' at the start or after a space, outside quotes) and "---" ignored. Anchors,
 * aliases, tags, multi-line scalars and tabs are FORMAT errors naming the file and line. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *path;          /* the file, for messages */
  GHashTable *values;   /* dotted key -> scalar text (unquoted), both owned */
  GHashTable *quoted;   /* the keys whose scalar was quoted: always strings, never numbers */
} GillLdmYaml;

GillLdmYaml *gill_ldm_yaml_load          (const gchar       *path,
                                          GError           **error);
/* text of `length` bytes (-1: NUL-terminated); name is used in messages */
GillLdmYaml *gill_ldm_yaml_parse         (const gchar       *text,
                                          gssize             length,
                                          const gchar       *name,
                                          GError           **error);
void         gill_ldm_yaml_free          (GillLdmYaml       *yaml);

/* the scalar at a dotted key, or NULL (transfer none) */
const gchar *gill_ldm_yaml_get           (const GillLdmYaml *yaml,
                                          const gchar       *key);
/* typed reads: an absent key gives `fallback`; a present one of the wrong form is FORMAT */
gboolean     gill_ldm_yaml_get_int       (const GillLdmYaml *yaml,
                                          const gchar       *key,
                                          gint64             fallback,
                                          gint64            *out,
                                          GError           **error);
gboolean     gill_ldm_yaml_get_double    (const GillLdmYaml *yaml,
                                          const gchar       *key,
                                          double             fallback,
                                          double            *out,
                                          GError           **error);
gboolean     gill_ldm_yaml_get_bool      (const GillLdmYaml *yaml,
                                          const gchar       *key,
                                          gboolean           fallback,
                                          gboolean          *out,
                                          GError           **error);
/* a flow list of integers "[1, 2, 4]" (transfer full, gint64 elements); MODEL_MISSING when
 * absent, FORMAT when not such a list */
GArray      *gill_ldm_yaml_get_int_list  (const GillLdmYaml *yaml,
                                          const gchar       *key,
                                          GError           **error);
/* every key under `prefix` ("model.params.cond_stage_config.params") as a JSON object: nested
 * keys as nested objects, scalars typed (integers, reals, true/false, null, flow lists as arrays,
 * the rest strings); NULL when nothing lies under the prefix (transfer full) */
JsonObject  *gill_ldm_yaml_to_json       (const GillLdmYaml *yaml,
                                          const gchar       *prefix);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillLdmYaml, gill_ldm_yaml_free)

G_END_DECLS
