/* vocab.c — vocabulary files, special and added tokens, ids, tokenize, decoding (see vocab.h).
 *
 * Reference: transformers v4.30.2 tokenization_utils.py (PreTrainedTokenizer._add_tokens,
 * tokenize, convert_tokens_to_ids, _convert_token_to_id_with_added_voc, convert_ids_to_tokens,
 * _decode)
 * and tokenization_utils_base.py (all_special_ids, clean_up_tokenization). */
#include "core/text/vocab.h"

#include <string.h>

#include "core/base/error.h"
#include "core/text/decode.h"
#include "core/text/unicode.h"

void
gill_vocab_init (GillVocab   *vocab,
                 const gchar *end_of_word_suffix)
{
  memset (vocab, 0, sizeof *vocab);
  vocab->bpe = gill_bpe_new (end_of_word_suffix);
  vocab->no_split = gill_added_tokens_new ();
  vocab->added = g_ptr_array_new_with_free_func (g_free);
}

void
gill_vocab_clear (GillVocab *vocab)
{
  g_clear_pointer (&vocab->bpe, gill_bpe_free);
  gill_tokenizer_config_clear (&vocab->config);
  g_clear_pointer (&vocab->no_split, gill_added_tokens_free);
  g_clear_pointer (&vocab->added, g_ptr_array_unref);
}

gboolean
gill_vocab_load_folder (GillVocab          *vocab,
                        const gchar        *folder,
                        GillBpeMergesFormat format,
                        const gchar        *what,
                        GError            **error)
{
  g_autofree gchar *vocab_json = g_build_filename (folder, "vocab.json", NULL);
  g_autofree gchar *merges = g_build_filename (folder, "merges.txt", NULL);
  if (!gill_bpe_load_vocab_json (vocab->bpe, vocab_json, error))
    return FALSE;
  g_autofree gchar *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (merges, &text, &len, &local))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "%s: %s; a %s tokenizer folder has vocab.json and merges.txt", merges,
                   local->message, what);
      return FALSE;
    }
  return gill_bpe_load_merges (vocab->bpe, text, len, format, merges, error);
}

static gint32
vocab_added_id (const GillVocab *vocab,
                const gchar     *token)
{
  for (guint i = 0; i < vocab->added->len; i++)
    if (strcmp (g_ptr_array_index (vocab->added, i), token) == 0)
      return (gint32) (gill_bpe_vocab_size (vocab->bpe) + i);
  return -1;
}

static gint32
vocab_unk_id (const GillVocab *vocab)
{
  const gchar *unk = vocab->config.special[GILL_SPECIAL_UNK].content;
  if (unk == NULL)
    return -1;
  gint32 id = vocab_added_id (vocab, unk);
  return id >= 0 ? id : gill_bpe_token_to_id (vocab->bpe, unk);
}

gint32
gill_vocab_token_to_id (const GillVocab *vocab,
                        const gchar     *token)
{
  gint32 id = vocab_added_id (vocab, token);
  if (id < 0)
    id = gill_bpe_token_to_id (vocab->bpe, token);
  return id >= 0 ? id : vocab_unk_id (vocab);
}

guint
gill_vocab_n_tokens (const GillVocab *vocab)
{
  return gill_bpe_vocab_size (vocab->bpe) + vocab->added->len;
}

const gchar *
gill_vocab_id_to_token (const GillVocab *vocab,
                        gint32           id)
{
  guint32 size = gill_bpe_vocab_size (vocab->bpe);
  if (id >= 0 && (guint32) id >= size && (guint32) id - size < vocab->added->len)
    return g_ptr_array_index (vocab->added, id - size);
  if (id < 0 || (guint32) id >= gill_bpe_n_ids (vocab->bpe))
    return NULL;
  return gill_bpe_symbol_string (vocab->bpe, (guint32) id);
}

gint32
gill_vocab_special_id (const GillVocab *vocab,
                       GillSpecialKind  kind)
{
  const gchar *content = vocab->config.special[kind].content;
  return content ? gill_vocab_token_to_id (vocab, content) : -1;
}

static gint32
vocab_item_id (const GillVocab *vocab,
               guint32          item)
{
  if (item & GILL_VOCAB_ADDED_BIT)
    return gill_added_tokens_get (vocab->no_split, item & ~GILL_VOCAB_ADDED_BIT)->id;
  return item < gill_bpe_n_ids (vocab->bpe) && gill_bpe_symbol_string (vocab->bpe, item) != NULL
           ? (gint32) item : vocab_unk_id (vocab);
}

static const gchar *
vocab_item_string (const GillVocab *vocab,
                   guint32          item)
{
  if (item & GILL_VOCAB_ADDED_BIT)
    return gill_added_tokens_get (vocab->no_split, item & ~GILL_VOCAB_ADDED_BIT)->content;
  return gill_bpe_symbol_string (vocab->bpe, item);
}

/* the strip flags of every no-split token: those of the last special AddedToken with its
 * content, else both sides (tokenize's all_special_tokens_extended lookup) */
static void
vocab_refresh_strip_flags (GillVocab *vocab)
{
  for (guint i = 0; i < gill_added_tokens_len (vocab->no_split); i++)
    {
      const GillAddedToken *t = gill_added_tokens_get (vocab->no_split, i);
      gboolean lstrip = TRUE, rstrip = TRUE;
      for (guint k = 0; k < GILL_N_SPECIAL; k++)
        {
          const GillSpecialToken *s = &vocab->config.special[k];
          if (s->content != NULL && s->added && strcmp (s->content, t->content) == 0)
            {
              lstrip = s->lstrip;
              rstrip = s->rstrip;
            }
        }
      gill_added_tokens_set (vocab->no_split, t->content, t->id, lstrip, rstrip);
    }
}

gint32
gill_vocab_add_token (GillVocab   *vocab,
                      const gchar *content,
                      gboolean     special)
{
  const gchar *unk = vocab->config.special[GILL_SPECIAL_UNK].content;
  gint32 id = gill_vocab_token_to_id (vocab, content);
  gboolean is_new = (unk == NULL || strcmp (content, unk) != 0) && id == vocab_unk_id (vocab);
  if (is_new)
    {
      id = (gint32) gill_vocab_n_tokens (vocab);
      g_ptr_array_add (vocab->added, g_strdup (content));
    }
  if (special || is_new)
    gill_added_tokens_set (vocab->no_split, content, id, TRUE, TRUE);
  vocab_refresh_strip_flags (vocab);
  return id;
}

void
gill_vocab_add_special_tokens (GillVocab *vocab)
{
  for (guint k = 0; k < GILL_N_SPECIAL; k++)
    if (vocab->config.special[k].content != NULL && vocab->config.special[k].content[0] != '\0')
      gill_vocab_add_token (vocab, vocab->config.special[k].content, TRUE);
}

static void
gstring_free (gpointer s)
{
  g_string_free (s, TRUE);
}

static void
flush_run (GPtrArray           *parts,
           GByteArray          *bytes,
           gboolean            *pending,
           GillVocabBytesToText bytes_to_text)
{
  if (!*pending)
    return;
  GString *s = g_string_new (NULL);
  bytes_to_text (bytes, s);
  g_ptr_array_add (parts, s);
  g_byte_array_set_size (bytes, 0);
  *pending = FALSE;
}

gchar *
gill_vocab_decode (const GillVocab     *vocab,
                   const gint32        *ids,
                   gsize                n_ids,
                   gboolean             skip_special_tokens,
                   GillVocabBytesToText bytes_to_text,
                   gsize               *length,
                   GError             **error)
{
  gint32 special[GILL_N_SPECIAL];
  for (guint k = 0; k < GILL_N_SPECIAL; k++)
    special[k] = gill_vocab_special_id (vocab, k);
  guint32 size = gill_bpe_vocab_size (vocab->bpe);
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (gstring_free);
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  gboolean pending = FALSE;
  for (gsize i = 0; i < n_ids; i++)
    {
      gint32 id = ids[i];
      gboolean is_special = FALSE;
      for (guint k = 0; k < GILL_N_SPECIAL; k++)
        is_special |= special[k] >= 0 && special[k] == id;
      if (skip_special_tokens && is_special)
        continue;
      const gchar *token = gill_vocab_id_to_token (vocab, id);
      if (token == NULL)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                       "token id %d at position %" G_GSIZE_FORMAT " is not in the tokenizer "
                       "(ids 0..%u); were these ids made by another tokenizer?", id, i,
                       gill_vocab_n_tokens (vocab) - 1);
          return NULL;
        }
      if (id >= 0 && (guint32) id >= size)     /* an added token stands alone */
        {
          flush_run (parts, bytes, &pending, bytes_to_text);
          g_ptr_array_add (parts, g_string_new (token));
        }
      else
        {
          gill_decode_append_token_bytes (bytes, token);
          pending = TRUE;
        }
    }
  flush_run (parts, bytes, &pending, bytes_to_text);

  /* spaces_between_special_tokens, then clean_up_tokenization_spaces */
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < parts->len; i++)
    {
      GString *s = g_ptr_array_index (parts, i);
      if (i > 0)
        g_string_append_c (out, ' ');
      g_string_append_len (out, s->str, s->len);
    }
  gill_decode_clean_up_tokenization (out);
  if (length)
    *length = out->len;
  return g_string_free (out, FALSE);
}

/* the common entry check: len (-1: NUL-terminated) -> bytes, UTF-8 and size checked */
static gboolean
vocab_check_text (const gchar *text,
                  gssize       len,
                  gsize       *out_len,
                  GError     **error)
{
  gsize n = len < 0 ? strlen (text) : (gsize) len;
  if (n > G_MAXINT32)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "input text: %" G_GSIZE_FORMAT " bytes is more than the 2 GiB one call "
                   "takes; tokenize it in parts", n);
      return FALSE;
    }
  *out_len = n;
  return gill_utf8_check (text, n, error);
}

GArray *
gill_vocab_tokenize (const GillVocab     *vocab,
                     const gchar         *text,
                     gssize               len,
                     gboolean             add_prefix_space,
                     GillVocabEncodeText  encode_text,
                     gconstpointer        data,
                     GError             **error)
{
  gsize n;
  if (text == NULL)
    text = "";
  if (!vocab_check_text (text, len, &n, error))
    return NULL;
  g_autofree gchar *prefixed = NULL;
  if (add_prefix_space)
    {
      prefixed = g_malloc (n + 1);
      prefixed[0] = ' ';
      memcpy (prefixed + 1, text, n);
      text = prefixed;
      n++;
    }
  GArray *items = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GArray) pieces = gill_added_tokens_split (vocab->no_split, text, n);
  g_autoptr (GillBpeWork) work = gill_bpe_work_new ();
  for (guint p = 0; p < pieces->len; p++)
    {
      const GillTextPiece *piece = &g_array_index (pieces, GillTextPiece, p);
      if (piece->token >= 0)
        {
          guint32 item = GILL_VOCAB_ADDED_BIT | (guint32) piece->token;
          g_array_append_val (items, item);
        }
      else
        encode_text (vocab, work, text + piece->start, piece->end - piece->start, data, items);
    }
  return items;
}

void
gill_vocab_append_ids (const GillVocab *vocab,
                       const GArray    *items,
                       guint            n,
                       GArray          *ids)
{
  for (guint i = 0; i < n; i++)
    {
      gint32 id = vocab_item_id (vocab, g_array_index (items, guint32, i));
      g_array_append_val (ids, id);
    }
}

GPtrArray *
gill_vocab_item_strings (const GillVocab *vocab,
                         const GArray    *items)
{
  GPtrArray *tokens = g_ptr_array_new_full (items->len, g_free);
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add (tokens, g_strdup (vocab_item_string (vocab, g_array_index (items, guint32, i))));
  return tokens;
}
