/* weights.c — checked parameter lookups for models. */
#include "core/base/weights.h"

#include <stdarg.h>

#include "core/base/error.h"

static gchar *
full_name (const GillWeights *weights,
           const gchar       *name)
{
  return g_strconcat (weights->prefix ? weights->prefix : "", name, NULL);
}

gboolean
gill_weights_has (const GillWeights *weights,
                  const gchar       *name)
{
  g_autofree gchar *full = full_name (weights, name);
  return weights->lookup (weights->source, full) != NULL;
}

GillTensor *
gill_weights_get (const GillWeights *weights,
                  const gchar       *name,
                  gint               n_dims,
                  const gint64      *shape,
                  GError           **error)
{
  g_autofree gchar *full = full_name (weights, name);
  GillTensor *t = weights->lookup (weights->source, full);
  const gchar *origin = weights->origin ? weights->origin (weights->source, full) : NULL;
  if (t == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "tensor '%s' is missing from the model's weights; is this the right, complete model?", full);
      return NULL;
    }
  if (!gill_dtype_is_float (t->dtype))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE, "%s: tensor '%s' is %s; a floating-point weight was expected",
                   origin ? origin : "weights", full, gill_dtype_name (t->dtype));
      return NULL;
    }
  if (n_dims >= 0 && !gill_tensor_has_shape (t, n_dims, shape))
    {
      g_autofree gchar *want = gill_shape_string (n_dims, shape);
      g_autofree gchar *got = gill_tensor_shape_string (t);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "%s: tensor '%s': expected %s, found %s %s; does the config belong to these weights?",
                   origin ? origin : "weights", full, want, got, gill_dtype_name (t->dtype));
      return NULL;
    }
  return t;
}

GillTensor *
gill_weights_getf (const GillWeights *weights,
                   GError           **error,
                   gint               n_dims,
                   const gint64      *shape,
                   const gchar       *format,
                   ...)
{
  va_list args;
  va_start (args, format);
  g_autofree gchar *name = g_strdup_vprintf (format, args);
  va_end (args);
  return gill_weights_get (weights, name, n_dims, shape, error);
}

GillWeights
gill_weights_with_prefix (const GillWeights *weights,
                          const gchar       *prefix)
{
  GillWeights w = *weights;
  w.prefix = prefix;
  return w;
}
