/* gill.h — the public API of libgill: GILL (Koh, Fried, Salakhutdinov 2023) on the CPU.
 *
 * This is the only header the GIMP plug-in, the dialog and the CLI include. Usage:
 *
 *   #include <gill.h>
 *
 *   g_autoptr (GError) error = NULL;
 *   g_autofree gchar *text = gill_describe_path ("/models/opt-6.7b", &error);
 *   if (text == NULL)
 *     {
 *       g_printerr ("%s\n", error->message);   // "FILE: what went wrong; what to do"
 *       return 1;
 *     }
 *   g_print ("%s", text);                      // format, tensor count, bytes, each tensor
 *
 * Every fallible call takes a GError ** last and returns FALSE/NULL exactly when it set it; the
 * domain is GILL_ERROR with the codes below. Nothing in libgill aborts on bad input.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GILL_ERROR (gill_error_quark ())

typedef enum
{
  GILL_ERROR_FAILED,
  GILL_ERROR_IO,
  GILL_ERROR_FORMAT,
  GILL_ERROR_SHAPE,
  GILL_ERROR_UNSUPPORTED,
  GILL_ERROR_MODEL_MISSING,
  GILL_ERROR_OUT_OF_MEMORY,
  GILL_ERROR_CANCELLED,
  GILL_ERROR_INVALID_ARGUMENT,
} GillError;

GQuark       gill_error_quark    (void);
const gchar *gill_version        (void);

/**
 * gill_describe_path:
 * @path: a weight file (safetensors, PyTorch zip or pickle, npy) or a model folder (Hugging Face,
 *   diffusers, single-file SD checkpoint, GILL folder)
 *
 * Returns: (transfer full): a human-readable description — format, tensor count, total bytes,
 * config.json highlights and every tensor's name, dtype and shape sorted by name — or %NULL
 * with @error set.
 */
gchar       *gill_describe_path  (const gchar *path,
                                  GError     **error);

G_END_DECLS
