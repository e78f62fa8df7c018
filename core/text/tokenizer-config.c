/* tokenizer-config.c — special tokens and flags of a tokenizer folder (see tokenizer-config.h).
 *
 * Reference: transformers v4.30.2 PreTrainedTokenizerBase._from_pretrained (init kwargs from
 * tokenizer_config.json, then setattr from special_tokens_map.json) and the GPT2Tokenizer /
 * CLIPTokenizer constructors. */
#include "core/text/tokenizer-config.h"

#include <json-glib/json-glib.h>

#include "core/base/error.h"

static const gchar *const special_keys[GILL_N_SPECIAL] = {
  "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
};

const gchar *
gill_tokenizer_config_key (GillSpecialKind kind)
{
  g_return_val_if_fail (kind < GILL_N_SPECIAL, NULL);
  return special_keys[kind];
}

static void
special_token_clear (GillSpecialToken *t)
{
  g_clear_pointer (&t->content, g_free);
  t->added = t->lstrip = t->rstrip = FALSE;
}

void
gill_tokenizer_config_set (GillTokenizerConfig *config,
                           GillSpecialKind      kind,
                           const gchar         *content,
                           gboolean             added)
{
  GillSpecialToken *t = &config->special[kind];
  special_token_clear (t);
  t->content = g_strdup (content);
  t->added = added;
}

void
gill_tokenizer_config_clear (GillTokenizerConfig *config)
{
  for (guint k = 0; k < GILL_N_SPECIAL; k++)
    special_token_clear (&config->special[k]);
}

/* a special-token value: a string, or an object with "content" (and lstrip/rstrip) */
static gboolean
special_token_read (JsonNode         *node,
                    gboolean          strings_are_added,
                    GillSpecialToken *out)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      special_token_clear (out);
      out->content = g_strdup (json_node_get_string (node));
      out->added = strings_are_added;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  JsonObject *o = json_node_get_object (node);
  JsonNode *content = json_object_get_member (o, "content");
  if (content == NULL || !JSON_NODE_HOLDS_VALUE (content)
      || json_node_get_value_type (content) != G_TYPE_STRING)
    return FALSE;
  special_token_clear (out);
  out->content = g_strdup (json_node_get_string (content));
  out->added = TRUE;
  out->lstrip = json_object_get_boolean_member_with_default (o, "lstrip", FALSE);
  out->rstrip = json_object_get_boolean_member_with_default (o, "rstrip", FALSE);
  return TRUE;
}

static gboolean
config_read_file (GillTokenizerConfig *config,
                  const gchar         *path,
                  gboolean             is_tokenizer_config,
                  GError             **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_mapped_file (parser, path, &local))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: %s; is this a tokenizer folder?",
                   path, local->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: expected a JSON object; is this a tokenizer folder?", path);
      return FALSE;
    }
  JsonObject *o = json_node_get_object (root);
  for (guint k = 0; k < GILL_N_SPECIAL; k++)
    {
      JsonNode *node = json_object_get_member (o, special_keys[k]);
      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        continue;
      if (!special_token_read (node, is_tokenizer_config, &config->special[k]))
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "%s: '%s' must be a string or an object with \"content\"; "
                       "is this a tokenizer folder?", path, special_keys[k]);
          return FALSE;
        }
    }
  if (is_tokenizer_config)
    {
      config->add_bos_token = json_object_get_boolean_member_with_default (o, "add_bos_token",
                                                                           config->add_bos_token);
      config->add_prefix_space = json_object_get_boolean_member_with_default (o, "add_prefix_space",
                                                                              config->add_prefix_space);
    }
  return TRUE;
}

gboolean
gill_tokenizer_config_load (GillTokenizerConfig *config,
                            const gchar         *folder,
                            GError             **error)
{
  g_autofree gchar *tc = g_build_filename (folder, "tokenizer_config.json", NULL);
  g_autofree gchar *stm = g_build_filename (folder, "special_tokens_map.json", NULL);
  return config_read_file (config, tc, TRUE, error) && config_read_file (config, stm, FALSE, error);
}
