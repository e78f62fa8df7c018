/* driver.c — runs a libFuzzer target over every file of the folders given, once each, so the
 * fuzz corpora are ordinary meson tests without clang. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
run_folder (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  int n = 0;
  if (dir == NULL)
    return 0;
  const gchar *entry;
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (folder, entry, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          n += run_folder (path);
          continue;
        }
      g_autofree gchar *contents = NULL;
      gsize len = 0;
      if (!g_file_get_contents (path, &contents, &len, NULL))
        continue;
      LLVMFuzzerTestOneInput ((const uint8_t *) contents, len);
      n++;
    }
  return n;
}

int
main (int argc, char **argv)
{
  int n = 0;
  for (int i = 1; i < argc; i++)
    n += run_folder (argv[i]);
  printf ("ran %d inputs\n", n);
  return n > 0 ? 0 : 1;
}
