/* bpe.h — the byte-level BPE engine both tokenizers share (models.md §1.6 "BPE", §2.6).
 *
 * A GillBpe holds the vocabulary (token string <-> id), the merge ranks and the GPT-2
 * bytes_to_unicode table. Encoding takes one pre-tokenized piece as raw UTF-8 bytes, maps each
 * byte to its byte-level character and merges the adjacent pair of lowest rank until none is
 * ranked — every occurrence of that pair, left to right, before the next rank, exactly as the
 * reference's loop — but with a heap over a linked list, so a piece of n bytes costs
 * O(n log n) and a 10 MB "word" is as fine as a short one. CLIP's variant appends an
 * end-of-word suffix ("</w>") to the piece's last byte before merging.
 *
 * Results are symbols: ids below gill_bpe_n_ids() are vocabulary ids; larger ones are strings
 * the merges produce that the vocabulary lacks (the reference maps them to unk). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GillBpe GillBpe;
typedef struct _GillBpeWork GillBpeWork;

/* how the merges text is cut into lines (the two references differ) */
typedef enum
{
  GILL_BPE_MERGES_GPT2,   /* text.split("\n")[1:-1]: skip the header, drop the last element */
  GILL_BPE_MERGES_CLIP,   /* text.strip().split("\n")[1:48895]: at most 48894 merges */
  GILL_BPE_MERGES_OPENAI, /* text.split("\n")[1:48895] (simple_tokenizer, no strip) */
} GillBpeMergesFormat;

/* an empty engine: vocabulary and merges are added by the loaders below */
GillBpe     *gill_bpe_new                 (const gchar    *end_of_word_suffix);   /* NULL or "</w>" */
void         gill_bpe_free                (GillBpe        *bpe);

/* vocab.json: a JSON object token -> id (file named in errors) */
gboolean     gill_bpe_load_vocab_json     (GillBpe        *bpe,
                                           const gchar    *path,
                                           GError        **error);
/* vocabulary in id order (ids 0..n-1), e.g. built from OpenAI's merges list */
void         gill_bpe_add_vocab_token     (GillBpe        *bpe,
                                           const gchar    *token,
                                           gint32          id);
/* merges text (whole file contents); `name` is the file name used in error messages */
gboolean     gill_bpe_load_merges         (GillBpe            *bpe,
                                           const gchar        *text,
                                           gsize               len,
                                           GillBpeMergesFormat format,
                                           const gchar        *name,
                                           GError            **error);

/* the vocabulary */
gint32       gill_bpe_token_to_id         (const GillBpe  *bpe,
                                           const gchar    *token);   /* -1 if absent */
const gchar *gill_bpe_symbol_string       (const GillBpe  *bpe,
                                           guint32         symbol);  /* NULL if no such symbol */
guint32      gill_bpe_n_ids               (const GillBpe  *bpe);     /* max vocabulary id + 1 */
guint32      gill_bpe_vocab_size          (const GillBpe  *bpe);     /* entries, len(encoder) */

/* GPT-2's bytes_to_unicode: byte -> its character, and back (-1 if not in the alphabet) */
gunichar     gill_bpe_byte_to_char        (guint8          byte);
gint         gill_bpe_char_to_byte        (gunichar        c);

/* scratch buffers and the per-call cache of piece -> symbols; not thread-safe, one per caller */
GillBpeWork *gill_bpe_work_new            (void);
void         gill_bpe_work_free           (GillBpeWork    *work);

/* appends the symbols of one piece (len > 0 raw bytes) to out (guint32) */
void         gill_bpe_encode_piece        (const GillBpe  *bpe,
                                           GillBpeWork    *work,
                                           const guint8   *piece,
                                           gsize           len,
                                           GArray         *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillBpe, gill_bpe_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillBpeWork, gill_bpe_work_free)

G_END_DECLS
