/* test-broken.c — every file of the broken corpus (tests/broken/<format>/) gives a GError that
 * names the file, never a crash, through the format's own opener and through the generic one. */
#include <string.h>

#include "core/base/error.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/io/store.h"
#include "core/io/torch.h"

typedef struct
{
  gchar *format;
  gchar *path;
} Broken;

static void
broken_free (gpointer data)
{
  Broken *b = data;
  g_free (b->format);
  g_free (b->path);
  g_free (b);
}

/* the format's own opener must fail */
static gboolean
open_as (const gchar *format,
         const gchar *path,
         GError     **error)
{
  if (g_str_equal (format, "safetensors"))
    {
      g_autoptr (GillTensorList) l = gill_safetensors_open (path, error);
      return l != NULL;
    }
  if (g_str_equal (format, "npy"))
    {
      g_autoptr (GillTensorList) l = gill_npy_open (path, error);
      return l != NULL;
    }
  /* zip, pickle, torch */
  g_autoptr (GillValue) v = gill_torch_load (path, error);
  return v != NULL;
}

static void
test_broken_file (gconstpointer data)
{
  const Broken *b = data;
  g_autofree gchar *base = g_path_get_basename (b->path);
  g_autoptr (GError) error = NULL;

  g_assert_false (open_as (b->format, b->path, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == GILL_ERROR);
  g_test_message ("%s: %s", base, error->message);
  g_assert_nonnull (strstr (error->message, base));
  g_clear_error (&error);

  g_autoptr (GillTensorList) l = gill_weights_open_file (b->path, &error);
  g_assert_null (l);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, base));
}

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func (broken_free);
  g_autofree gchar *root = g_test_build_filename (G_TEST_DIST, "broken", NULL);
  static const gchar *const formats[] = { "safetensors", "npy", "zip", "pickle", "torch" };
  for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      g_autofree gchar *dir = g_build_filename (root, formats[f], NULL);
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      const gchar *name;
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      while (d && (name = g_dir_read_name (d)) != NULL)
        g_ptr_array_add (names, g_strdup (name));
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        {
          Broken *b = g_new0 (Broken, 1);
          b->format = g_strdup (formats[f]);
          b->path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
          g_ptr_array_add (all, b);
          g_autofree gchar *test = g_strdup_printf ("/broken/%s/%s", formats[f], (gchar *) g_ptr_array_index (names, i));
          g_test_add_data_func (test, b, test_broken_file);
        }
    }
  g_assert_cmpuint (all->len, >, 20); /* the corpus is there */
  return g_test_run ();
}
