/* tokenizer.c — the public tokenizer API: one handle over core/text's OPT and CLIP tokenizers. */
#include "core/gill.h"

#include "core/text/clip-tokenizer.h"
#include "core/text/opt-tokenizer.h"

struct _GillTokenizer
{
  GillTokenizerKind kind;
  GillOptTokenizer *opt;   /* OPT kinds */
  GillClipTokenizer *clip; /* CLIP */
};

GillTokenizer *
gill_tokenizer_load (GillTokenizerKind kind,
                     const gchar      *path,
                     GError          **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (GillTokenizer) tokenizer = g_new0 (GillTokenizer, 1);
  tokenizer->kind = kind;
  if (kind == GILL_TOKENIZER_CLIP)
    tokenizer->clip = gill_clip_tokenizer_load (path, error);
  else
    {
      tokenizer->opt = gill_opt_tokenizer_load (path, error);
      if (tokenizer->opt && kind == GILL_TOKENIZER_OPT)
        gill_opt_tokenizer_add_gill_tokens (tokenizer->opt);
    }
  if (tokenizer->opt == NULL && tokenizer->clip == NULL)
    return NULL;
  return g_steal_pointer (&tokenizer);
}

void
gill_tokenizer_free (GillTokenizer *tokenizer)
{
  if (tokenizer == NULL)
    return;
  g_clear_pointer (&tokenizer->opt, gill_opt_tokenizer_free);
  g_clear_pointer (&tokenizer->clip, gill_clip_tokenizer_free);
  g_free (tokenizer);
}

/* CLIP's ids without the BOS and EOS that frame them (add_special_tokens=False) */
static void
drop_clip_specials (GArray *ids)
{
  if (ids->len >= 2)
    {
      g_array_remove_index (ids, ids->len - 1);
      g_array_remove_index (ids, 0);
    }
}

GArray *
gill_tokenizer_encode (const GillTokenizer *tokenizer,
                       const gchar         *text,
                       gssize               len,
                       GillTokenizeFlags    flags,
                       GError             **error)
{
  g_return_val_if_fail (tokenizer != NULL && text != NULL, NULL);
  if (tokenizer->opt)
    return gill_opt_tokenizer_encode (tokenizer->opt, text, len, !(flags & GILL_TOKENIZE_NO_SPECIAL), error);
  GArray *ids = (flags & GILL_TOKENIZE_PAD)
                  ? gill_clip_tokenizer_encode_padded (tokenizer->clip, text, len, GILL_CLIP_MAX_LENGTH, error)
                  : gill_clip_tokenizer_encode (tokenizer->clip, text, len,
                                                (flags & GILL_TOKENIZE_BASIC) ? GILL_CLIP_ENCODE_BASIC_NORMALIZER
                                                                              : GILL_CLIP_ENCODE_DEFAULT,
                                                error);
  if (ids && (flags & GILL_TOKENIZE_NO_SPECIAL) && !(flags & GILL_TOKENIZE_PAD))
    drop_clip_specials (ids);
  return ids;
}

gchar *
gill_tokenizer_decode (const GillTokenizer *tokenizer,
                       const gint32        *ids,
                       gsize                n_ids,
                       gboolean             skip_special,
                       gsize               *len,
                       GError             **error)
{
  g_return_val_if_fail (tokenizer != NULL, NULL);
  if (tokenizer->opt)
    return gill_opt_tokenizer_decode (tokenizer->opt, ids, n_ids, skip_special, len, error);
  return gill_clip_tokenizer_decode (tokenizer->clip, ids, n_ids, skip_special, len, error);
}

const gchar *
gill_tokenizer_id_to_token (const GillTokenizer *tokenizer,
                            gint32               id)
{
  g_return_val_if_fail (tokenizer != NULL, NULL);
  return tokenizer->opt ? gill_opt_tokenizer_id_to_token (tokenizer->opt, id)
                        : gill_clip_tokenizer_id_to_token (tokenizer->clip, id);
}
