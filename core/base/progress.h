/* progress.h — one way for long work to say how far it is and to be told to stop.
 *
 * Loading, denoising, decoding and indexing call a GillProgressFunc between units of work
 * (a denoising step, a VAE tile). Returning FALSE asks the work to stop: it returns promptly
 * with GILL_ERROR_CANCELLED and leaves nothing half-written. The CLI prints the stage, the GIMP
 * plug-in moves its progress bar and its Cancel button makes the callback return FALSE
 * (llama.h's progress_callback and ggml's abort callback work the same way). */
#pragma once

#include <glib.h>

#include "core/base/error.h"

G_BEGIN_DECLS

/* GillProgressFunc (fraction in [0, 1] of the whole job, stage a short untranslated word such as
 * "denoise") is public: core/gill.h, which error.h includes */

/* calls func (NULL = never cancels); FALSE + GILL_ERROR_CANCELLED when it asks to stop */
static inline gboolean
gill_progress_report (GillProgressFunc func,
                      gpointer         user_data,
                      double           fraction,
                      const gchar     *stage,
                      GError         **error)
{
  if (func == NULL || func (CLAMP (fraction, 0.0, 1.0), stage, user_data))
    return TRUE;
  g_set_error (error, GILL_ERROR, GILL_ERROR_CANCELLED, "%s: cancelled", stage);
  return FALSE;
}

G_END_DECLS
