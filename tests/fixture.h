/* fixture.h — the tests' way to the fixture folders (../shared/fixtures, never written to).
 *
 * meson test passes the folder as GILL_FIXTURES; run by hand without it, a test that needs a
 * fixture is skipped (g_test_skip), never passed. */
#pragma once

#include <glib.h>

/* (transfer full) GILL_FIXTURES/relative, or NULL after g_test_skip when GILL_FIXTURES is unset */
static inline gchar *
fixture (const gchar *relative)
{
  const gchar *root = g_getenv ("GILL_FIXTURES");
  if (root == NULL || !g_file_test (root, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("GILL_FIXTURES is not set: run through meson test");
      return NULL;
    }
  return g_build_filename (root, relative, NULL);
}
