/* added-tokens.h — the "no-split" tokens of a slow tokenizer (special tokens and tokens added
 * with add_tokens / add_special_tokens) and the first step of transformers v4.30.2's
 * PreTrainedTokenizer.tokenize: cut the text at every occurrence of one of them (leftmost,
 * longest first, as its trie) and strip the neighbouring text as the token asks:
 *
 *   - a token with AddedToken flags strips only where its lstrip/rstrip say;
 *   - any other (plain string) strips the whitespace (str.isspace) of the text before it and
 *     after it.
 *
 * Matched tokens stay atomic: they map straight to their ids and never reach BPE. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *content;
  gsize len;
  gint32 id;
  gboolean lstrip;   /* eats the whitespace before it */
  gboolean rstrip;   /* eats the whitespace after it */
} GillAddedToken;

typedef struct
{
  gsize start;       /* byte range in the text */
  gsize end;
  gint token;        /* index of the added token, or -1 for ordinary text */
} GillTextPiece;

typedef struct _GillAddedTokens GillAddedTokens;

GillAddedTokens      *gill_added_tokens_new    (void);
void                  gill_added_tokens_free   (GillAddedTokens       *tokens);
/* adds content (or updates the one already there); returns its index */
guint                 gill_added_tokens_set    (GillAddedTokens       *tokens,
                                                const gchar           *content,
                                                gint32                 id,
                                                gboolean               lstrip,
                                                gboolean               rstrip);
gint                  gill_added_tokens_find   (const GillAddedTokens *tokens,
                                                const gchar           *content);   /* -1 if absent */
gint                  gill_added_tokens_find_id (const GillAddedTokens *tokens,
                                                 gint32                 id);       /* -1 if absent */
const GillAddedToken *gill_added_tokens_get    (const GillAddedTokens *tokens,
                                                guint                  index);
guint                 gill_added_tokens_len    (const GillAddedTokens *tokens);
/* the pieces of text[0..len) (valid UTF-8), empty ones left out (transfer full, GillTextPiece) */
GArray               *gill_added_tokens_split  (const GillAddedTokens *tokens,
                                                const gchar           *text,
                                                gsize                  len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillAddedTokens, gill_added_tokens_free)

G_END_DECLS
