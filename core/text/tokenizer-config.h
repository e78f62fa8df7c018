/* tokenizer-config.h — the special tokens and flags of a Hugging Face tokenizer folder
 * (tokenizer_config.json, then special_tokens_map.json), as transformers v4.30.2's slow
 * tokenizers read them.
 *
 * Whether a special token is an AddedToken matters: around an AddedToken only its own
 * lstrip/rstrip apply, around a plain string the neighbouring text is stripped on both sides
 * (models.md §1.6). Values from tokenizer_config.json (and the class defaults) are always
 * AddedTokens — GPT2Tokenizer and CLIPTokenizer wrap plain strings — while special_tokens_map.json
 * overrides them with an AddedToken for an object and a plain string for a string. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  GILL_SPECIAL_BOS,
  GILL_SPECIAL_EOS,
  GILL_SPECIAL_UNK,
  GILL_SPECIAL_SEP,
  GILL_SPECIAL_PAD,
  GILL_SPECIAL_CLS,
  GILL_SPECIAL_MASK,
  GILL_N_SPECIAL,
} GillSpecialKind;

typedef struct
{
  gchar *content;      /* NULL: not set */
  gboolean added;      /* an AddedToken (its lstrip/rstrip apply); FALSE: a plain string */
  gboolean lstrip;
  gboolean rstrip;
} GillSpecialToken;

typedef struct
{
  GillSpecialToken special[GILL_N_SPECIAL];
  gboolean add_bos_token;
  gboolean add_prefix_space;
} GillTokenizerConfig;

/* the JSON key of a kind: "bos_token", ... */
const gchar *gill_tokenizer_config_key      (GillSpecialKind            kind);
/* a class default: an AddedToken without stripping */
void         gill_tokenizer_config_set      (GillTokenizerConfig       *config,
                                             GillSpecialKind            kind,
                                             const gchar               *content,
                                             gboolean                   added);
/* reads folder/tokenizer_config.json and folder/special_tokens_map.json where present */
gboolean     gill_tokenizer_config_load     (GillTokenizerConfig       *config,
                                             const gchar               *folder,
                                             GError                   **error);
void         gill_tokenizer_config_clear    (GillTokenizerConfig       *config);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GillTokenizerConfig, gill_tokenizer_config_clear)

G_END_DECLS
