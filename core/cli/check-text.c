/* check-text.c — fixture kinds tokenizer.opt and tokenizer.clip (fixtures README, "Kinds").
 *
 * tokenizer.opt: GILL's OPT tokenizer (the folder's files plus <|image|> and [IMG0..7] added in
 * code) on inputs.text: input_ids, input_ids_no_special, tokens, decode_skip_special,
 * decode_keep_special, and input_ids_plain_opt from the tokenizer without GILL's tokens.
 * tokenizer.clip: SD's CLIP tokenizer: input_ids (77, truncated and padded), input_ids_unpadded,
 * tokens, and input_ids_no_ftfy_fallback from transformers' BasicTokenizer path. */
#include "core/cli/check.h"

#include "core/base/error.h"
#include "core/text/clip-tokenizer.h"
#include "core/text/opt-tokenizer.h"

static void
set_ids (GillCheckResults *out,
         const gchar      *key,
         const GArray     *ids)
{
  g_autofree gint64 *wide = g_new (gint64, ids->len + 1);
  for (guint i = 0; i < ids->len; i++)
    wide[i] = g_array_index (ids, gint32, i);
  gill_check_results_set_ints (out, key, wide, ids->len);
}

static void
set_tokens (GillCheckResults *out,
            const gchar      *key,
            GPtrArray        *tokens)
{
  gill_check_results_set_strings (out, key, (const gchar * const *) tokens->pdata, tokens->len);
}

/* the tokenizer folder the manifest names, relative to the fixture folder */
static gchar *
tokenizer_path (const GillCheckCase *c,
                const gchar         *member,
                GError             **error)
{
  const gchar *relative = gill_check_manifest_string (c, member);
  if (relative == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s/manifest.json: no \"%s\"; the tokenizers manifest names the folders",
                   c->folder, member);
      return NULL;
    }
  return gill_check_path (c, relative);
}

/* the folder's tokenizer, loaded once per fixture folder; gill_tokens: with GILL's nine */
static GillOptTokenizer *
cached_opt (const GillCheckCase *c,
            const gchar         *folder,
            gboolean             gill_tokens,
            GError             **error)
{
  g_autofree gchar *key = g_strdup_printf ("opt-tokenizer:%d:%s", gill_tokens, folder);
  GillOptTokenizer *tok = gill_check_cache_lookup (c, key);
  if (tok)
    return tok;
  tok = gill_opt_tokenizer_load (folder, error);
  if (tok == NULL)
    return NULL;
  if (gill_tokens)
    gill_opt_tokenizer_add_gill_tokens (tok);
  gill_check_cache_insert (c, key, tok, (GDestroyNotify) gill_opt_tokenizer_free);
  return tok;
}

static GillClipTokenizer *
cached_clip (const GillCheckCase *c,
             const gchar         *folder,
             GError             **error)
{
  g_autofree gchar *key = g_strdup_printf ("clip-tokenizer:%s", folder);
  GillClipTokenizer *tok = gill_check_cache_lookup (c, key);
  if (tok)
    return tok;
  tok = gill_clip_tokenizer_load (folder, error);
  if (tok)
    gill_check_cache_insert (c, key, tok, (GDestroyNotify) gill_clip_tokenizer_free);
  return tok;
}

static gboolean
run_opt (const GillCheckCase *c,
         GillCheckResults    *out,
         GError             **error)
{
  g_autofree gchar *text = gill_check_input_string (c, "text", error);
  g_autofree gchar *folder = text ? tokenizer_path (c, "opt_tokenizer_folder", error) : NULL;
  if (folder == NULL)
    return FALSE;
  GillOptTokenizer *plain = cached_opt (c, folder, FALSE, error);
  if (plain == NULL)
    return FALSE;
  g_autoptr (GArray) plain_ids = gill_opt_tokenizer_encode (plain, text, -1, TRUE, error);
  if (plain_ids == NULL)
    return FALSE;
  set_ids (out, "input_ids_plain_opt", plain_ids);

  GillOptTokenizer *tok = cached_opt (c, folder, TRUE, error); /* GILL's: plus its nine tokens */
  if (tok == NULL)
    return FALSE;
  g_autoptr (GArray) ids = gill_opt_tokenizer_encode (tok, text, -1, TRUE, error);
  g_autoptr (GArray) ids_plain = ids ? gill_opt_tokenizer_encode (tok, text, -1, FALSE, error) : NULL;
  g_autoptr (GPtrArray) tokens = ids_plain ? gill_opt_tokenizer_tokenize (tok, text, -1, error) : NULL;
  if (tokens == NULL)
    return FALSE;
  g_autofree gchar *skip = gill_opt_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len,
                                                      TRUE, NULL, error);
  g_autofree gchar *keep = skip ? gill_opt_tokenizer_decode (tok, (const gint32 *) ids->data,
                                                             ids->len, FALSE, NULL, error) : NULL;
  if (keep == NULL)
    return FALSE;
  set_ids (out, "input_ids", ids);
  set_ids (out, "input_ids_no_special", ids_plain);
  set_tokens (out, "tokens", tokens);
  gill_check_results_set_string (out, "decode_skip_special", skip);
  gill_check_results_set_string (out, "decode_keep_special", keep);
  return TRUE;
}

static gboolean
run_clip (const GillCheckCase *c,
          GillCheckResults    *out,
          GError             **error)
{
  g_autofree gchar *text = gill_check_input_string (c, "text", error);
  g_autofree gchar *folder = text ? tokenizer_path (c, "clip_tokenizer_folder", error) : NULL;
  if (folder == NULL)
    return FALSE;
  GillClipTokenizer *tok = cached_clip (c, folder, error);
  if (tok == NULL)
    return FALSE;
  g_autoptr (GArray) padded = gill_clip_tokenizer_encode_padded (tok, text, -1,
                                                                 GILL_CLIP_MAX_LENGTH, error);
  g_autoptr (GArray) ids = padded ? gill_clip_tokenizer_encode (tok, text, -1, 0, error) : NULL;
  g_autoptr (GArray) basic = ids ? gill_clip_tokenizer_encode (tok, text, -1,
                                                               GILL_CLIP_ENCODE_BASIC_NORMALIZER,
                                                               error) : NULL;
  if (basic == NULL)
    return FALSE;
  g_autoptr (GPtrArray) tokens = g_ptr_array_new ();
  for (guint i = 0; i < ids->len; i++)
    g_ptr_array_add (tokens, (gpointer) gill_clip_tokenizer_id_to_token (tok, g_array_index (ids, gint32, i)));
  set_ids (out, "input_ids", padded);
  set_ids (out, "input_ids_unpadded", ids);
  set_ids (out, "input_ids_no_ftfy_fallback", basic);
  set_tokens (out, "tokens", tokens);
  return TRUE;
}

const GillCheckKind gill_check_kinds_text[] = {
  { "tokenizer.opt", run_opt, NULL },
  { "tokenizer.clip", run_clip, NULL },
  { NULL },
};
