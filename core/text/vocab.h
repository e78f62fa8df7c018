/* vocab.h — what the two slow tokenizers share above the BPE engine: the special tokens, the
 * tokens added past the vocabulary, token <-> id, and decoding (transformers v4.30.2
 * PreTrainedTokenizer: _add_tokens, convert_tokens_to_ids, convert_ids_to_tokens, _decode). */
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

/* convert_tokens_to_string's last step: the bytes of a run of ordinary tokens -> text */
typedef void (*GillVocabBytesToText) (const GByteArray *bytes,
                                      GString          *out);

void         gill_vocab_init              (GillVocab       *vocab,
                                           const gchar     *end_of_word_suffix);
void         gill_vocab_clear             (GillVocab       *vocab);
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
/* the id of an encoded item: a BPE symbol (unk if the vocabulary lacks it) or, with
 * GILL_VOCAB_ADDED_BIT set, the index of a no-split token */
#define GILL_VOCAB_ADDED_BIT 0x80000000u
gint32       gill_vocab_item_id           (const GillVocab *vocab,
                                           guint32          item);
const gchar *gill_vocab_item_string       (const GillVocab *vocab,
                                           guint32          item);
/* _decode: ids -> tokens (special ones skipped on request), runs of ordinary tokens through
 * bytes_to_text, added tokens alone, the parts joined by spaces, then the clean-up */
gchar       *gill_vocab_decode            (const GillVocab     *vocab,
                                           const gint32        *ids,
                                           gsize                n_ids,
                                           gboolean             skip_special_tokens,
                                           GillVocabBytesToText bytes_to_text,
                                           gsize               *length,
                                           GError             **error);
/* the common entry check: len (-1: NUL-terminated) -> bytes, UTF-8 and size checked */
gboolean     gill_vocab_check_text        (const gchar     *text,
                                           gssize           len,
                                           gsize           *out_len,
                                           GError         **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GillVocab, gill_vocab_clear)

G_END_DECLS
