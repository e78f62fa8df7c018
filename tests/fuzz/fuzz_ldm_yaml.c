/* fuzz_ldm_yaml.c — libFuzzer target for the LDM yaml reader: any bytes must give a table or a
 * GError, never a crash, a leak or undefined behaviour; the typed reads and the JSON view must
 * hold up on whatever was parsed. */
#include <glib.h>
#include <stdint.h>

#include "core/io/ldm-yaml.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillLdmYaml) yaml = gill_ldm_yaml_parse ((const gchar *) data, (gssize) size, "fuzz.yaml", &error);
  g_assert ((yaml == NULL) != (error == NULL));
  if (yaml == NULL)
    return 0;
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, yaml->values);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      gint64 i;
      double d;
      gboolean b;
      g_autoptr (GError) e1 = NULL;
      g_autoptr (GError) e2 = NULL;
      g_autoptr (GError) e3 = NULL;
      g_autoptr (GError) e4 = NULL;
      gill_ldm_yaml_get_int (yaml, key, 0, &i, &e1);
      gill_ldm_yaml_get_double (yaml, key, 0, &d, &e2);
      gill_ldm_yaml_get_bool (yaml, key, FALSE, &b, &e3);
      g_autoptr (GArray) list = gill_ldm_yaml_get_int_list (yaml, key, &e4);
      g_assert ((list == NULL) != (e4 == NULL));
    }
  g_autoptr (JsonObject) all = gill_ldm_yaml_to_json (yaml, NULL);
  g_assert (all == NULL || json_object_get_size (all) > 0);   /* NULL stands for nothing */
  return 0;
}
