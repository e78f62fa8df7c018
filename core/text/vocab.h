/* vocab.h — what the two slow tokenizers share above the BPE engine: a folder's vocab.json and
 * merges.txt, the special tokens, the tokens added past the vocabulary, token <-> id, tokenize()
 * around the tokenizer's own pre-tokenization, and decoding (transformers v4.30.2
 * PreTrainedTokenizer: _add_tokens, tokenize, convert_tokens_to_ids, convert_ids_to_tokens,
 * _decode). Each tokenizer file keeps only what differs: its defaults, normalisation,
 * pre-tokenization pattern and convert_tokens_to_string. */
#pragma once

#include <glib.h>

#include "core/text/added-tokens.h"
#include "core/text/bpe.h"
#include "core/text/tokenizer-config.h"

G_BEGIN_DECLS

typedef struct
{
  GillBpe *bpe;
  GillTokenizerConfig config;
  GillAddedTokens *no_split;   /* every token the text is split on before pre-tokenization */
  GPtrArray *added;            /* added_tokens_encoder: the content of id vocab_size + i */
} GillVocab;

/* a tokenizer's own pre-tokenization and BPE for a stretch of ordinary text (no no-split
 * token inside): appends the items of text[0..len) to items (guint32) */
typedef void (*GillVocabEncodeText)  (const GillVocab  *vocab,
                                      GillBpeWork      *work,
                                      const gchar      *text,
                                      gsize             len,
                                      gconstpointer     data,
                                      GArray           *items);
/* convert_tokens_to_string's last step: the bytes of a run of ordinary tokens -> text */
typedef void (*GillVocabBytesToText) (const GByteArray *bytes,
                                      GString          *out);

void         gill_vocab_init              (GillVocab       *vocab,
                                           const gchar     *end_of_word_suffix);
void         gill_vocab_clear             (GillVocab       *vocab);
/* a Hugging Face folder's vocab.json and merges.txt; `what` names the tokenizer ("CLIP") in
 * the error for a missing merges.txt */
gboolean     gill_vocab_load_folder       (GillVocab          *vocab,
                                           const gchar        *folder,
                                           GillBpeMergesFormat format,
                                           const gchar        *what,
                                           GError            **error);
/* from_pretrained's sanitize_special_tokens: each special token becomes no-split; one the
 * vocabulary lacks is added */
void         gill_vocab_add_special_tokens (GillVocab      *vocab);
/* _add_tokens([content], special_tokens=special); returns the token's id */
gint32       gill_vocab_add_token         (GillVocab       *vocab,
                                           const gchar     *content,
                                           gboolean         special);

guint        gill_vocab_n_tokens          (const GillVocab *vocab);   /* len(tokenizer) */
gint32       gill_vocab_token_to_id       (const GillVocab *vocab,
                                           const gchar     *token);   /* unk's id if unknown */
const gchar *gill_vocab_id_to_token       (const GillVocab *vocab,
                                           gint32           id);      /* NULL if none */
gint32       gill_vocab_special_id        (const GillVocab *vocab,
                                           GillSpecialKind  kind);    /* -1 if not set */
/* an encoded item: a BPE symbol (unk's id if the vocabulary lacks it) or, with
 * GILL_VOCAB_ADDED_BIT set, the index of a no-split token */
#define GILL_VOCAB_ADDED_BIT 0x80000000u
/* tokenize() up to the tokenizer's own part: the entry check on text (NULL when len is 0;
 * -1: NUL-terminated; UTF-8 and size checked), prepare_for_tokenization's space in front when
 * add_prefix_space, the split on no-split tokens (one item each) and encode_text for the text
 * between them. Items (guint32, transfer full), or NULL + error. */
GArray      *gill_vocab_tokenize          (const GillVocab     *vocab,
                                           const gchar         *text,
                                           gssize               len,
                                           gboolean             add_prefix_space,
                                           GillVocabEncodeText  encode_text,
                                           gconstpointer        data,
                                           GError             **error);
/* convert_tokens_to_ids: the ids of items[0..n) appended to ids (gint32) */
void         gill_vocab_append_ids        (const GillVocab *vocab,
                                           const GArray    *items,
                                           guint            n,
                                           GArray          *ids);
/* the token strings of items (transfer full) */
GPtrArray   *gill_vocab_item_strings      (const GillVocab *vocab,
                                           const GArray    *items);
/* _decode: ids -> tokens (special ones skipped on request), runs of ordinary tokens through
 * bytes_to_text, added tokens alone, the parts joined by spaces, then the clean-up */
gchar       *gill_vocab_decode            (const GillVocab     *vocab,
                                           const gint32        *ids,
                                           gsize                n_ids,
                                           gboolean             skip_special_tokens,
                                           GillVocabBytesToText bytes_to_text,
                                           gsize               *length,
                                           GError             **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GillVocab, gill_vocab_clear)

G_END_DECLS
