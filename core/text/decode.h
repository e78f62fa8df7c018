/* decode.h — what both tokenizers do to turn tokens back into text (transformers v4.30.2
 * PreTrainedTokenizer._decode and the tokenizers' convert_tokens_to_string). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* appends the bytes a byte-level token stands for (each character through GPT-2's
 * bytes_to_unicode inverse); a character outside that alphabet, which no shipped vocabulary
 * has, contributes its own UTF-8 bytes instead of failing */
void   gill_decode_append_token_bytes    (GByteArray  *out,
                                          const gchar *token);
/* PreTrainedTokenizerBase.clean_up_tokenization, in place: the plain string replaces, in
 * order, " ." -> ".", " ?" -> "?", " !" -> "!", " ," -> ",", " ' " -> "'", " n't" -> "n't",
 * " 'm" -> "'m", " 's" -> "'s", " 've" -> "'ve", " 're" -> "'re" (text may hold NUL bytes) */
void   gill_decode_clean_up_tokenization (GString     *text);

G_END_DECLS
