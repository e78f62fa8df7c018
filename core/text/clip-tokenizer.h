/* clip-tokenizer.h — CLIP's tokenizer as Stable Diffusion's text encoder uses it: the slow
 * CLIPTokenizer of transformers v4.30.2 with ftfy installed (models.md §2.6).
 *
 *   g_autoptr (GillClipTokenizer) tok = gill_clip_tokenizer_load ("/models/sd15/tokenizer", &error);
 *   g_autoptr (GArray) ids = gill_clip_tokenizer_encode_padded (tok, "a photo of a cat", -1,
 *                                                               GILL_CLIP_MAX_LENGTH, &error);
 *   // 77 gint32: 49406, 320, 1125, 539, 320, 2368, 49407, 49407, ...
 *
 * Text goes through ftfy.fix_text (see ftfy.h), whitespace runs become one space, the ends are
 * stripped, it is lower-cased (Python's str.lower), split by CLIP's pattern and BPE-encoded
 * with "</w>" closing each word. Input is UTF-8 (U+0000 allowed, and removed by ftfy as a
 * control character); anything else is refused with GILL_ERROR_INVALID_ARGUMENT. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GillClipTokenizer GillClipTokenizer;

#define GILL_CLIP_MAX_LENGTH 77       /* SD's model_max_length */

typedef enum
{
  GILL_CLIP_ENCODE_DEFAULT = 0,
  /* the path transformers takes when ftfy is not installed: BERT's BasicTokenizer (lower case,
   * accents stripped, punctuation and CJK characters split, no ftfy) — documented by the
   * fixtures as a variant, not what SD uses */
  GILL_CLIP_ENCODE_BASIC_NORMALIZER = 1 << 0,
} GillClipEncodeFlags;

/* path: a Hugging Face tokenizer folder (vocab.json, merges.txt and, where present,
 * tokenizer_config.json, special_tokens_map.json), or OpenAI's bpe_simple_vocab_16e6.txt.gz
 * (gzip) or a folder holding only that file */
GillClipTokenizer *gill_clip_tokenizer_load          (const gchar             *path,
                                                      GError                 **error);
void               gill_clip_tokenizer_free          (GillClipTokenizer       *tok);

/* tok(text).input_ids: BOS, the tokens, EOS — no truncation (gint32, transfer full) */
GArray            *gill_clip_tokenizer_encode        (const GillClipTokenizer *tok,
                                                      const gchar             *text,
                                                      gssize                   len,
                                                      GillClipEncodeFlags      flags,
                                                      GError                 **error);
/* tok(text, padding="max_length", max_length=N, truncation=True).input_ids, as SD's
 * _encode_prompt: at most N - 2 tokens between BOS and EOS, then pad ids up to N */
GArray            *gill_clip_tokenizer_encode_padded (const GillClipTokenizer *tok,
                                                      const gchar             *text,
                                                      gssize                   len,
                                                      guint                    max_length,
                                                      GError                 **error);
/* tok.tokenize(text): the token strings ("</w>" ends a word), transfer full */
GPtrArray         *gill_clip_tokenizer_tokenize      (const GillClipTokenizer *tok,
                                                      const gchar             *text,
                                                      gssize                   len,
                                                      GillClipEncodeFlags      flags,
                                                      GError                 **error);
/* tok.decode(ids, skip_special_tokens): "</w>" -> " ", stripped, clean-up applied */
gchar             *gill_clip_tokenizer_decode        (const GillClipTokenizer *tok,
                                                      const gint32            *ids,
                                                      gsize                    n_ids,
                                                      gboolean                 skip_special_tokens,
                                                      gsize                   *length,
                                                      GError                 **error);

/* len(tokenizer) and the token string of an id (NULL if none) */
guint              gill_clip_tokenizer_n_tokens      (const GillClipTokenizer *tok);
const gchar       *gill_clip_tokenizer_id_to_token   (const GillClipTokenizer *tok,
                                                      gint32                   id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillClipTokenizer, gill_clip_tokenizer_free)

G_END_DECLS
