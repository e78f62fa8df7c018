/* opt-tokenizer.h — OPT's tokenizer: the slow GPT2Tokenizer of transformers v4.30.2 as
 * facebook/opt-* configure it, plus GILL's added tokens (models.md §1.6).
 *
 *   g_autoptr (GillOptTokenizer) tok = gill_opt_tokenizer_load ("/models/opt-6.7b", &error);
 *   gill_opt_tokenizer_add_gill_tokens (tok);              // <|image|> 50265, [IMG0..7] 50266..
 *   g_autoptr (GArray) ids = gill_opt_tokenizer_encode (tok, "A dog [IMG0]", -1, TRUE, &error);
 *   // ids (gint32): 2, 250, 2335, 50266
 *   g_autofree gchar *text = gill_opt_tokenizer_decode (tok, (gint32 *) ids->data, ids->len,
 *                                                       TRUE, NULL, &error);  // "A dog [IMG0]"
 *
 * Input text is UTF-8 of any length (U+0000 included); text that is not UTF-8 is refused with
 * GILL_ERROR_INVALID_ARGUMENT naming the byte offset. No normalisation is applied. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GillOptTokenizer GillOptTokenizer;

/* GILL's tokens, in the order GILL adds them */
#define GILL_OPT_IMAGE_TOKEN "<|image|>"
#define GILL_OPT_N_IMG_TOKENS 8

/* a Hugging Face tokenizer folder: vocab.json, merges.txt, and where present
 * tokenizer_config.json and special_tokens_map.json */
GillOptTokenizer *gill_opt_tokenizer_load            (const gchar            *folder,
                                                      GError                **error);
void              gill_opt_tokenizer_free            (GillOptTokenizer       *tok);

/* tokenizer.add_tokens(content) / add_special_tokens({kind: content}): a new token gets the id
 * len(tokenizer); one already known keeps its id. Returns the token's id. */
gint32            gill_opt_tokenizer_add_token       (GillOptTokenizer       *tok,
                                                      const gchar            *content);
gint32            gill_opt_tokenizer_add_cls_token   (GillOptTokenizer       *tok,
                                                      const gchar            *content);
/* what GILL's load_gill does: cls "<|image|>", then "[IMG0]".."[IMG7]" */
void              gill_opt_tokenizer_add_gill_tokens (GillOptTokenizer       *tok);

/* tok(text).input_ids (BOS first when add_special_tokens), or NULL + error; gint32 ids */
GArray           *gill_opt_tokenizer_encode          (const GillOptTokenizer *tok,
                                                      const gchar            *text,
                                                      gssize                  len,
                                                      gboolean                add_special_tokens,
                                                      GError                **error);
/* tok.tokenize(text): the token strings (byte-level alphabet, "Ġ" = space), transfer full */
GPtrArray        *gill_opt_tokenizer_tokenize        (const GillOptTokenizer *tok,
                                                      const gchar            *text,
                                                      gssize                  len,
                                                      GError                **error);
/* tok.decode(ids, skip_special_tokens): added tokens joined by spaces, bytes decoded with
 * errors="replace", clean_up_tokenization_spaces; NULL + error for an id out of range. The
 * text may hold U+0000 (a byte-0 token): its length in bytes goes to *length when not NULL. */
gchar            *gill_opt_tokenizer_decode          (const GillOptTokenizer *tok,
                                                      const gint32           *ids,
                                                      gsize                   n_ids,
                                                      gboolean                skip_special_tokens,
                                                      gsize                  *length,
                                                      GError                **error);

/* len(tokenizer), the token string of an id (NULL if none) and the id of a token (-1) */
guint             gill_opt_tokenizer_n_tokens        (const GillOptTokenizer *tok);
const gchar      *gill_opt_tokenizer_id_to_token     (const GillOptTokenizer *tok,
                                                      gint32                  id);
gint32            gill_opt_tokenizer_token_to_id     (const GillOptTokenizer *tok,
                                                      const gchar            *token);
gint32            gill_opt_tokenizer_bos_id          (const GillOptTokenizer *tok);
gint32            gill_opt_tokenizer_eos_id          (const GillOptTokenizer *tok);
gint32            gill_opt_tokenizer_pad_id          (const GillOptTokenizer *tok);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillOptTokenizer, gill_opt_tokenizer_free)

G_END_DECLS
