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

/* ------------------------------------------------------------------ configuration */

/* (transfer full) $GILL_CONFIG, else $XDG_CONFIG_HOME/gill/config.json (which need not exist) */
gchar         *gill_config_default_file   (void);
/**
 * gill_config_get_path:
 * @config_file: the JSON configuration (an object; data/README.md lists its keys)
 * @key: "models", "clip", "sd", ...
 *
 * The path a key names: "~/" is the home folder, a relative path is relative to the folder of
 * @config_file. A missing file, a missing key, null or "" is no error: %NULL is returned with
 * @error unset. A file that is not a JSON object or a key that is not a string is a FORMAT error
 * naming the file.
 *
 * Returns: (transfer full) (nullable): the path
 */
gchar         *gill_config_get_path       (const gchar *config_file,
                                           const gchar *key,
                                           GError     **error);
/* the first of @given (a flag or argument), the environment variable @env, and the
 * configuration's @key; none -> MODEL_MISSING saying how to name one (transfer full) */
gchar         *gill_config_find_path      (const gchar *given,
                                           const gchar *env,
                                           const gchar *config_file,
                                           const gchar *key,
                                           GError     **error);

/* ------------------------------------------------------------------ tokenizers */

typedef struct _GillTokenizer GillTokenizer;

typedef enum
{
  GILL_TOKENIZER_OPT,       /* GILL's: OPT's byte-level BPE plus <|image|> and [IMG0]..[IMG7] */
  GILL_TOKENIZER_OPT_PLAIN, /* OPT's files as they are, without GILL's nine tokens */
  GILL_TOKENIZER_CLIP,      /* Stable Diffusion's text encoder tokenizer (CLIP BPE, ftfy) */
} GillTokenizerKind;

typedef enum
{
  GILL_TOKENIZE_DEFAULT = 0,
  GILL_TOKENIZE_NO_SPECIAL = 1 << 0, /* no BOS (OPT) / no BOS and EOS (CLIP) */
  GILL_TOKENIZE_PAD = 1 << 1,        /* CLIP: truncate and pad to 77 ids as SD does */
  GILL_TOKENIZE_BASIC = 1 << 2,      /* CLIP: transformers' fallback without ftfy */
} GillTokenizeFlags;

/**
 * gill_tokenizer_load:
 * @path: a tokenizer folder (vocab.json, merges.txt, ...) or, for CLIP, OpenAI's
 *   bpe_simple_vocab_16e6.txt.gz
 *
 * Returns: (transfer full): the tokenizer, free with gill_tokenizer_free(), or %NULL with @error
 * set (MODEL_MISSING or FORMAT naming the file).
 */
GillTokenizer *gill_tokenizer_load        (GillTokenizerKind  kind,
                                           const gchar       *path,
                                           GError           **error);
void           gill_tokenizer_free        (GillTokenizer     *tokenizer);
/* (transfer full) the ids (gint32) of UTF-8 text (len -1: NUL-terminated); invalid UTF-8 is an
 * INVALID_ARGUMENT error naming the byte offset */
GArray        *gill_tokenizer_encode      (const GillTokenizer *tokenizer,
                                           const gchar         *text,
                                           gssize               len,
                                           GillTokenizeFlags    flags,
                                           GError             **error);
/* (transfer full) the text of ids; *len gets its byte length (it may hold U+0000) */
gchar         *gill_tokenizer_decode      (const GillTokenizer *tokenizer,
                                           const gint32        *ids,
                                           gsize                n_ids,
                                           gboolean             skip_special,
                                           gsize               *len,
                                           GError             **error);
/* (transfer none) the token string of an id in the byte-level alphabet, or NULL */
const gchar   *gill_tokenizer_id_to_token (const GillTokenizer *tokenizer,
                                           gint32               id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillTokenizer, gill_tokenizer_free)

G_END_DECLS
