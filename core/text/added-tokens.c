/* added-tokens.c — no-split tokens and the split that precedes pre-tokenization (see
 * added-tokens.h). Reference: transformers v4.30.2 tokenization_utils.py, Trie.split and
 * PreTrainedTokenizer.tokenize. */
#include "core/text/added-tokens.h"

#include <string.h>

#include "core/text/unicode.h"

struct _GillAddedTokens
{
  GPtrArray *tokens;          /* GillAddedToken * */
  guint8 first_byte[32];      /* bitmap of the first bytes of the tokens */
};

static void
added_token_free (gpointer p)
{
  GillAddedToken *t = p;
  g_free (t->content);
  g_free (t);
}

GillAddedTokens *
gill_added_tokens_new (void)
{
  GillAddedTokens *t = g_new0 (GillAddedTokens, 1);
  t->tokens = g_ptr_array_new_with_free_func (added_token_free);
  return t;
}

void
gill_added_tokens_free (GillAddedTokens *tokens)
{
  if (tokens == NULL)
    return;
  g_ptr_array_unref (tokens->tokens);
  g_free (tokens);
}

gint
gill_added_tokens_find (const GillAddedTokens *tokens,
                        const gchar           *content)
{
  for (guint i = 0; i < tokens->tokens->len; i++)
    {
      const GillAddedToken *t = g_ptr_array_index (tokens->tokens, i);
      if (strcmp (t->content, content) == 0)
        return (gint) i;
    }
  return -1;
}

gint
gill_added_tokens_find_id (const GillAddedTokens *tokens,
                           gint32                 id)
{
  for (guint i = 0; i < tokens->tokens->len; i++)
    {
      const GillAddedToken *t = g_ptr_array_index (tokens->tokens, i);
      if (t->id == id)
        return (gint) i;
    }
  return -1;
}

guint
gill_added_tokens_set (GillAddedTokens *tokens,
                       const gchar     *content,
                       gint32           id,
                       gboolean         lstrip,
                       gboolean         rstrip)
{
  g_return_val_if_fail (content != NULL && content[0] != '\0', 0);
  gint i = gill_added_tokens_find (tokens, content);
  GillAddedToken *t;
  if (i >= 0)
    t = g_ptr_array_index (tokens->tokens, i);
  else
    {
      t = g_new0 (GillAddedToken, 1);
      t->content = g_strdup (content);
      t->len = strlen (content);
      i = (gint) tokens->tokens->len;
      g_ptr_array_add (tokens->tokens, t);
      guint8 b = (guint8) content[0];
      tokens->first_byte[b >> 3] |= (guint8) (1u << (b & 7));
    }
  t->id = id;
  t->lstrip = lstrip;
  t->rstrip = rstrip;
  return (guint) i;
}

const GillAddedToken *
gill_added_tokens_get (const GillAddedTokens *tokens,
                       guint                  index)
{
  g_return_val_if_fail (index < tokens->tokens->len, NULL);
  return g_ptr_array_index (tokens->tokens, index);
}

guint
gill_added_tokens_len (const GillAddedTokens *tokens)
{
  return tokens->tokens->len;
}

/* the longest token starting at text[i], or -1 */
static gint
added_tokens_match (const GillAddedTokens *tokens,
                    const gchar           *text,
                    gsize                  len,
                    gsize                  i)
{
  guint8 b = (guint8) text[i];
  if (!(tokens->first_byte[b >> 3] & (1u << (b & 7))))
    return -1;
  gint best = -1;
  gsize best_len = 0;
  for (guint k = 0; k < tokens->tokens->len; k++)
    {
      const GillAddedToken *t = g_ptr_array_index (tokens->tokens, k);
      if (t->len > best_len && t->len <= len - i && memcmp (text + i, t->content, t->len) == 0)
        {
          best = (gint) k;
          best_len = t->len;
        }
    }
  return best;
}

/* str.rstrip() / str.lstrip() on a byte range of UTF-8 text */
static gsize
strip_right (const gchar *text,
             gsize        start,
             gsize        end)
{
  while (end > start)
    {
      gsize k = end - 1;
      while (k > start && ((guint8) text[k] & 0xc0) == 0x80)
        k--;
      gunichar c;
      if (gill_utf8_decode_char ((const guint8 *) text + k, end - k, &c) == 0
          || !gill_unicode_is_python_space (c))
        break;
      end = k;
    }
  return end;
}

static gsize
strip_left (const gchar *text,
            gsize        start,
            gsize        end)
{
  while (start < end)
    {
      gunichar c;
      gsize n = gill_utf8_decode_char ((const guint8 *) text + start, end - start, &c);
      if (n == 0 || !gill_unicode_is_python_space (c))
        break;
      start += n;
    }
  return start;
}

GArray *
gill_added_tokens_split (const GillAddedTokens *tokens,
                         const gchar           *text,
                         gsize                  len)
{
  GArray *pieces = g_array_new (FALSE, FALSE, sizeof (GillTextPiece));
  gsize last = 0, i = 0;
  while (i < len)
    {
      gint k = tokens->tokens->len > 0 ? added_tokens_match (tokens, text, len, i) : -1;
      if (k < 0)
        {
          i++;
          continue;
        }
      const GillAddedToken *t = g_ptr_array_index (tokens->tokens, k);
      if (i > last)
        {
          GillTextPiece p = { last, i, -1 };
          g_array_append_val (pieces, p);
        }
      GillTextPiece p = { i, i + t->len, k };
      g_array_append_val (pieces, p);
      i += t->len;
      last = i;
    }
  if (len > last)
    {
      GillTextPiece p = { last, len, -1 };
      g_array_append_val (pieces, p);
    }

  /* strip the neighbours of each token, in order, as the reference's loop does */
  GillTextPiece *ps = (GillTextPiece *) pieces->data;
  for (guint j = 0; j < pieces->len; j++)
    {
      if (ps[j].token < 0)
        continue;
      const GillAddedToken *t = g_ptr_array_index (tokens->tokens, ps[j].token);
      if (t->rstrip && j + 1 < pieces->len && ps[j + 1].end > ps[j + 1].start)
        {
          gsize s = strip_left (text, ps[j + 1].start, ps[j + 1].end);
          if (s != ps[j + 1].start)
            ps[j + 1].token = -1;         /* a changed token is no longer that token */
          ps[j + 1].start = s;
        }
      if (t->lstrip && j > 0 && ps[j - 1].end > ps[j - 1].start)
        {
          gsize e = strip_right (text, ps[j - 1].start, ps[j - 1].end);
          if (e != ps[j - 1].end)
            ps[j - 1].token = -1;
          ps[j - 1].end = e;
        }
    }
  guint out = 0;
  for (guint j = 0; j < pieces->len; j++)
    if (ps[j].end > ps[j].start)
      ps[out++] = ps[j];
  g_array_set_size (pieces, out);
  return pieces;
}
