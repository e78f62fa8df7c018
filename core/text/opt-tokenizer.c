/* opt-tokenizer.c — OPT's GPT2Tokenizer and GILL's added tokens (see opt-tokenizer.h).
 *
 * Reference: transformers v4.30.2 models/gpt2/tokenization_gpt2.py (GPT2Tokenizer: _tokenize,
 * build_inputs_with_special_tokens, convert_tokens_to_string) and tokenization_utils.py
 * (PreTrainedTokenizer: _add_tokens, tokenize, convert_tokens_to_ids, _decode); GILL's
 * models.py load_gill for the added tokens; models.md §1.6. */
#include "core/text/opt-tokenizer.h"

#include "core/text/unicode.h"
#include "core/text/vocab.h"

struct _GillOptTokenizer
{
  GillVocab vocab;
};

/* ---- tokens and ids ----------------------------------------------------------------------------- */

gint32
gill_opt_tokenizer_token_to_id (const GillOptTokenizer *tok,
                                const gchar            *token)
{
  g_return_val_if_fail (tok != NULL && token != NULL, -1);
  return gill_vocab_token_to_id (&tok->vocab, token);
}

guint
gill_opt_tokenizer_n_tokens (const GillOptTokenizer *tok)
{
  return gill_vocab_n_tokens (&tok->vocab);
}

const gchar *
gill_opt_tokenizer_id_to_token (const GillOptTokenizer *tok,
                                gint32                  id)
{
  g_return_val_if_fail (tok != NULL, NULL);
  return gill_vocab_id_to_token (&tok->vocab, id);
}

gint32
gill_opt_tokenizer_bos_id (const GillOptTokenizer *tok)
{
  return gill_vocab_special_id (&tok->vocab, GILL_SPECIAL_BOS);
}

gint32
gill_opt_tokenizer_eos_id (const GillOptTokenizer *tok)
{
  return gill_vocab_special_id (&tok->vocab, GILL_SPECIAL_EOS);
}

gint32
gill_opt_tokenizer_pad_id (const GillOptTokenizer *tok)
{
  return gill_vocab_special_id (&tok->vocab, GILL_SPECIAL_PAD);
}

gint32
gill_opt_tokenizer_add_token (GillOptTokenizer *tok,
                              const gchar      *content)
{
  g_return_val_if_fail (tok != NULL && content != NULL && content[0] != '\0', -1);
  return gill_vocab_add_token (&tok->vocab, content, FALSE);
}

gint32
gill_opt_tokenizer_add_cls_token (GillOptTokenizer *tok,
                                  const gchar      *content)
{
  g_return_val_if_fail (tok != NULL && content != NULL && content[0] != '\0', -1);
  /* add_special_tokens({"cls_token": content}): a plain string, so it strips both sides */
  gill_tokenizer_config_set (&tok->vocab.config, GILL_SPECIAL_CLS, content, FALSE);
  return gill_vocab_add_token (&tok->vocab, content, TRUE);
}

void
gill_opt_tokenizer_add_gill_tokens (GillOptTokenizer *tok)
{
  g_return_if_fail (tok != NULL);
  gill_opt_tokenizer_add_cls_token (tok, GILL_OPT_IMAGE_TOKEN);
  for (guint i = 0; i < GILL_OPT_N_IMG_TOKENS; i++)
    {
      g_autofree gchar *name = g_strdup_printf ("[IMG%u]", i);
      gill_opt_tokenizer_add_token (tok, name);
    }
}

/* ---- loading ----------------------------------------------------------------------------------- */

void
gill_opt_tokenizer_free (GillOptTokenizer *tok)
{
  if (tok == NULL)
    return;
  gill_vocab_clear (&tok->vocab);
  g_free (tok);
}

GillOptTokenizer *
gill_opt_tokenizer_load (const gchar *folder,
                         GError     **error)
{
  g_return_val_if_fail (folder != NULL, NULL);
  g_autoptr (GillOptTokenizer) tok = g_new0 (GillOptTokenizer, 1);
  gill_vocab_init (&tok->vocab, NULL);
  GillVocab *v = &tok->vocab;

  /* GPT2Tokenizer's defaults, then the folder's configuration */
  for (guint k = GILL_SPECIAL_BOS; k <= GILL_SPECIAL_UNK; k++)
    gill_tokenizer_config_set (&v->config, k, "<|endoftext|>", TRUE);
  if (!gill_tokenizer_config_load (&v->config, folder, error))
    return NULL;

  if (!gill_vocab_load_folder (v, folder, GILL_BPE_MERGES_GPT2, "GPT-2/OPT", error))
    return NULL;
  gill_vocab_add_special_tokens (v);
  return g_steal_pointer (&tok);
}

/* ---- pre-tokenization: GPT-2's pattern ------------------------------------------------------------
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * matched at each position with the alternatives in order (first alternative wins); every
 * character belongs to one alternative, so the pieces cover the text. */

typedef enum
{
  CHAR_SPACE,
  CHAR_LETTER,
  CHAR_NUMBER,
  CHAR_OTHER,
} CharClass;

static inline CharClass
opt_char_class (gunichar c)
{
  if (gill_unicode_is_white_space (c))
    return CHAR_SPACE;
  if (gill_unicode_is_letter (c))
    return CHAR_LETTER;
  if (gill_unicode_is_number (c))
    return CHAR_NUMBER;
  return CHAR_OTHER;
}

/* the class of the character at s[i] (valid UTF-8), its length in *n */
static inline CharClass
opt_class_at (const guint8 *s,
              gsize         len,
              gsize         i,
              gsize        *n)
{
  if (s[i] < 0x80)
    {
      *n = 1;
      guint8 b = s[i];
      if ((b | 0x20) >= 'a' && (b | 0x20) <= 'z')
        return CHAR_LETTER;
      if (b >= '0' && b <= '9')
        return CHAR_NUMBER;
      if (b == ' ' || (b >= 0x09 && b <= 0x0d))
        return CHAR_SPACE;
      return CHAR_OTHER;
    }
  gunichar c;
  *n = gill_utf8_decode_char (s + i, len - i, &c);
  if (*n == 0)
    {
      *n = 1;
      return CHAR_OTHER;
    }
  return opt_char_class (c);
}

static gsize
opt_run_end (const guint8 *s,
             gsize         len,
             gsize         i,
             CharClass     cls)
{
  while (i < len)
    {
      gsize n;
      if (opt_class_at (s, len, i, &n) != cls)
        break;
      i += n;
    }
  return i;
}

static gsize
gpt2_contraction (const guint8 *s,
                  gsize         len,
                  gsize         i)
{
  if (i + 1 >= len)
    return 0;
  guint8 a = s[i + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return 2;
  if (i + 2 < len)
    {
      guint8 b = s[i + 2];
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    }
  return 0;
}

/* the end of the piece that starts at s[i], i < len */
static gsize
gpt2_next_piece (const guint8 *s,
                 gsize         len,
                 gsize         i)
{
  if (s[i] == '\'')
    {
      gsize k = gpt2_contraction (s, len, i);
      if (k > 0)
        return i + k;
    }
  gsize n;
  CharClass cls = opt_class_at (s, len, i, &n);
  if (s[i] == ' ' && i + 1 < len)
    {
      gsize n2;
      CharClass next = opt_class_at (s, len, i + 1, &n2);
      if (next != CHAR_SPACE)
        return opt_run_end (s, len, i + 1, next);        /* " ?\p{L}+" and its siblings */
    }
  if (cls != CHAR_SPACE)
    return opt_run_end (s, len, i, cls);
  /* whitespace: \s+(?!\S) keeps the last space for the word after it; \s+ otherwise */
  gsize last = i, j = i + n;
  while (j < len)
    {
      gsize m;
      if (opt_class_at (s, len, j, &m) != CHAR_SPACE)
        break;
      last = j;
      j += m;
    }
  if (j == len || last == i)
    return j;
  return last;
}

/* ---- encoding ---------------------------------------------------------------------------------- */

/* _tokenize for the text between no-split tokens: GPT-2's pieces, each through BPE */
static void
opt_encode_text (const GillVocab *vocab,
                 GillBpeWork     *work,
                 const gchar     *text,
                 gsize            len,
                 gconstpointer    data G_GNUC_UNUSED,
                 GArray          *items)
{
  const guint8 *s = (const guint8 *) text;
  gsize i = 0;
  while (i < len)
    {
      gsize e = gpt2_next_piece (s, len, i);
      gill_bpe_encode_piece (vocab->bpe, work, s + i, e - i, items);
      i = e;
    }
}

/* tokenize(): prepare_for_tokenization adds a space in front when add_prefix_space */
static GArray *
opt_tokenize_items (const GillOptTokenizer *tok,
                    const gchar            *text,
                    gssize                  len,
                    GError                **error)
{
  return gill_vocab_tokenize (&tok->vocab, text, len, tok->vocab.config.add_prefix_space,
                              opt_encode_text, NULL, error);
}

GArray *
gill_opt_tokenizer_encode (const GillOptTokenizer *tok,
                           const gchar            *text,
                           gssize                  len,
                           gboolean                add_special_tokens,
                           GError                **error)
{
  g_return_val_if_fail (tok != NULL && (text != NULL || len == 0), NULL);
  g_autoptr (GArray) items = opt_tokenize_items (tok, text, len, error);
  if (items == NULL)
    return NULL;
  GArray *ids = g_array_sized_new (FALSE, FALSE, sizeof (gint32), items->len + 1);
  if (add_special_tokens && tok->vocab.config.add_bos_token)   /* build_inputs_with_special_tokens */
    {
      gint32 bos = gill_opt_tokenizer_bos_id (tok);
      g_array_append_val (ids, bos);
    }
  gill_vocab_append_ids (&tok->vocab, items, items->len, ids);
  return ids;
}

GPtrArray *
gill_opt_tokenizer_tokenize (const GillOptTokenizer *tok,
                             const gchar            *text,
                             gssize                  len,
                             GError                **error)
{
  g_return_val_if_fail (tok != NULL && (text != NULL || len == 0), NULL);
  g_autoptr (GArray) items = opt_tokenize_items (tok, text, len, error);
  return items ? gill_vocab_item_strings (&tok->vocab, items) : NULL;
}

/* ---- decoding ---------------------------------------------------------------------------------- */

/* GPT2Tokenizer.convert_tokens_to_string: bytearray(...).decode("utf-8", errors="replace") */
static void
opt_bytes_to_text (const GByteArray *bytes,
                   GString          *out)
{
  gill_utf8_append_replacing (out, bytes->data, bytes->len);
}

gchar *
gill_opt_tokenizer_decode (const GillOptTokenizer *tok,
                           const gint32           *ids,
                           gsize                   n_ids,
                           gboolean                skip_special_tokens,
                           gsize                  *length,
                           GError                **error)
{
  g_return_val_if_fail (tok != NULL && (ids != NULL || n_ids == 0), NULL);
  return gill_vocab_decode (&tok->vocab, ids, n_ids, skip_special_tokens, opt_bytes_to_text,
                            length, error);
}
