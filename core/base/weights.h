/* weights.h — GillWeights: how a model asks for its parameters without knowing about files.
 *
 * A model's `bind` takes a GillWeights (a name -> tensor lookup; core/io's GillStore provides
 * one with gill_store_weights) and checks every tensor it binds: missing -> MODEL_MISSING, wrong
 * shape or a non-float dtype -> SHAPE, each message naming the tensor, the file, the expected and
 * the found shape. Tensors are borrowed: the lookup's owner keeps them alive. */
#pragma once

#include <glib.h>

#include "core/base/tensor.h"

G_BEGIN_DECLS

typedef struct
{
  /* (transfer none) the tensor or NULL */
  GillTensor *(*lookup) (gconstpointer source, const gchar *name);
  /* where a name lives, for messages (may return NULL) */
  const gchar *(*origin) (gconstpointer source, const gchar *name);
  gconstpointer source;
  const gchar *prefix; /* prepended to every name asked for (e.g. "text_model."), or NULL */
} GillWeights;

/* the float tensor `name` with exactly this shape; n_dims = -1 accepts any shape */
GillTensor *gill_weights_get   (const GillWeights *weights,
                                const gchar       *name,
                                gint               n_dims,
                                const gint64      *shape,
                                GError           **error);
/* the same with a printf-style name: gill_weights_getf (w, error, 2, shape, "layers.%d.fc1.weight", i) */
GillTensor *gill_weights_getf  (const GillWeights *weights,
                                GError           **error,
                                gint               n_dims,
                                const gint64      *shape,
                                const gchar       *format,
                                ...) G_GNUC_PRINTF (5, 6);
/* whether `name` exists (for optional parameters and layout detection) */
gboolean    gill_weights_has   (const GillWeights *weights,
                                const gchar       *name);
/* a copy of weights whose names get `prefix` prepended (prefix is not copied: keep it alive) */
GillWeights gill_weights_with_prefix (const GillWeights *weights,
                                      const gchar       *prefix);

G_END_DECLS
