/* gill.c — the public entry points of libgill that are not a model's own. */
#include "core/gill.h"

#include "core/io/folder.h"

const gchar *
gill_version (void)
{
  return GILL_VERSION;
}

gchar *
gill_describe_path (const gchar *path,
                    GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  return gill_model_describe (path, error);
}
