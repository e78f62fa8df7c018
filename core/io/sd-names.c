/* sd-names.c — Stable Diffusion's two checkpoint layouts under diffusers' names (see sd-names.h).
 *
 * The tables mirror huggingface/diffusers scripts/convert_diffusers_to_original_stable_diffusion.py
 * (unet_conversion_map, unet_conversion_map_resnet, unet_conversion_map_layer,
 * vae_conversion_map, vae_conversion_map_attn), read from the CompVis side as
 * pipelines/stable_diffusion/convert_from_ckpt.py (v0.17.1) does: convert_ldm_unet_checkpoint,
 * convert_ldm_vae_checkpoint, convert_ldm_clip_checkpoint, and the legacy attention renames of
 * modeling_utils.py _convert_deprecated_attention_blocks. leejet/stable-diffusion.cpp keeps the
 * same pairs in src/name_conversion.cpp. */
#include "core/io/sd-names.h"

#include <string.h>

#include "core/base/error.h"
#include "core/io/ldm-yaml.h"
#include "core/io/store.h"

/* ------------------------------------------------------------------ name tables */

typedef struct
{
  const gchar *compvis;
  const gchar *diffusers;
} SdNamePair;

/* UNet layers outside the blocks (unet_conversion_map) */
static const SdNamePair unet_top_names[] = {
  { "time_embed.0", "time_embedding.linear_1" },
  { "time_embed.2", "time_embedding.linear_2" },
  { "input_blocks.0.0", "conv_in" },
  { "out.0", "conv_norm_out" },
  { "out.2", "conv_out" },
};

/* inside a UNet ResBlock (unet_conversion_map_resnet); in_layers.1 and out_layers.2 are SiLU,
 * out_layers.1 dropout, emb_layers.0 SiLU: no parameters */
static const SdNamePair unet_resnet_names[] = {
  { "in_layers.0", "norm1" },
  { "in_layers.2", "conv1" },
  { "emb_layers.1", "time_emb_proj" },
  { "out_layers.0", "norm2" },
  { "out_layers.3", "conv2" },
  { "skip_connection", "conv_shortcut" },
};

/* the mid block of the UNet (unet_conversion_map_layer, "middle_block.{j}") */
static const SdNamePair unet_mid_names[] = {
  { "middle_block.0", "mid_block.resnets.0" },
  { "middle_block.1", "mid_block.attentions.0" },
  { "middle_block.2", "mid_block.resnets.1" },
};

/* VAE decoder layers outside the up blocks (vae_conversion_map) */
static const SdNamePair vae_top_names[] = {
  { "post_quant_conv", "post_quant_conv" },
  { "decoder.conv_in", "decoder.conv_in" },
  { "decoder.conv_out", "decoder.conv_out" },
  { "decoder.norm_out", "decoder.conv_norm_out" },
  { "decoder.mid.block_1", "decoder.mid_block.resnets.0" },
  { "decoder.mid.block_2", "decoder.mid_block.resnets.1" },
  { "decoder.mid.attn_1.norm", "decoder.mid_block.attentions.0.group_norm" },
  { "decoder.mid.attn_1.q", "decoder.mid_block.attentions.0.to_q" },
  { "decoder.mid.attn_1.k", "decoder.mid_block.attentions.0.to_k" },
  { "decoder.mid.attn_1.v", "decoder.mid_block.attentions.0.to_v" },
  { "decoder.mid.attn_1.proj_out", "decoder.mid_block.attentions.0.to_out.0" },
};

/* inside a VAE ResnetBlock (vae_conversion_map: "nin_shortcut" ↔ "conv_shortcut") */
static const SdNamePair vae_resnet_names[] = {
  { "norm1", "norm1" },
  { "conv1", "conv1" },
  { "norm2", "norm2" },
  { "conv2", "conv2" },
  { "nin_shortcut", "conv_shortcut" },
};

/* diffusers' own pre-0.14 VAE attention names (_convert_deprecated_attention_blocks) */
static const SdNamePair vae_legacy_attention_names[] = {
  { "query", "to_q" },
  { "key", "to_k" },
  { "value", "to_v" },
  { "proj_attn", "to_out.0" },
};

#define UNET_PREFIX "model.diffusion_model."
#define UNET_EMA_PREFIX "model_ema."
#define VAE_PREFIX "first_stage_model."
#define TEXT_PREFIX "cond_stage_model.transformer."

/* the rest of `name` after "prefix.", or NULL */
static const gchar *
after (const gchar *name,
       const gchar *prefix)
{
  gsize n = strlen (prefix);
  if (strncmp (name, prefix, n) != 0 || name[n] != '.')
    return NULL;
  return name + n + 1;
}

/* a table's translation of "<compvis>.<rest>" into "<diffusers>.<rest>", or NULL */
static gchar *
translate (const SdNamePair *table,
           gsize             n,
           const gchar      *name)
{
  for (gsize i = 0; i < n; i++)
    {
      const gchar *rest = after (name, table[i].compvis);
      if (rest)
        return g_strconcat (table[i].diffusers, ".", rest, NULL);
    }
  return NULL;
}

/* "<int>.<rest>": the integer and rest, FALSE when name does not start so */
static gboolean
take_index (const gchar  *name,
            gint64       *index,
            const gchar **rest)
{
  gchar *end = NULL;
  if (!g_ascii_isdigit (name[0]))
    return FALSE;
  *index = g_ascii_strtoll (name, &end, 10);
  if (end == NULL || *end != '.')
    return FALSE;
  *rest = end + 1;
  return TRUE;
}

/* "<prefix>.resnets.<j>.<mapped resnet layer>" or NULL for an unknown layer */
static gchar *
unet_resnet (const gchar *block,
             const gchar *rest)
{
  g_autofree gchar *layer = translate (unet_resnet_names, G_N_ELEMENTS (unet_resnet_names), rest);
  return layer ? g_strconcat (block, ".", layer, NULL) : NULL;
}

/* a UNet name after "model.diffusion_model." (convert_ldm_unet_checkpoint) */
static gchar *
unet_from_compvis (const gchar *name,
                   gint64       layers)
{
  const gint64 per = layers + 1;   /* input/output block indices per level */
  const gchar *rest;
  gint64 k, s;

  gchar *top = translate (unet_top_names, G_N_ELEMENTS (unet_top_names), name);
  if (top)
    return top;
  for (gsize i = 0; i < G_N_ELEMENTS (unet_mid_names); i++)
    if ((rest = after (name, unet_mid_names[i].compvis)) != NULL)
      return i == 1 ? g_strconcat (unet_mid_names[i].diffusers, ".", rest, NULL)
                    : unet_resnet (unet_mid_names[i].diffusers, rest);

  /* input_blocks.{k}.{s}: k = per·i + j + 1 (resnet s = 0, attention s = 1), k = per·(i+1) the
   * downsampler "op" */
  if ((rest = after (name, "input_blocks")) != NULL && take_index (rest, &k, &rest) && take_index (rest, &s, &rest)
      && k >= 1)
    {
      gint64 i = (k - 1) / per, j = (k - 1) % per;
      const gchar *op;
      if (j == layers && s == 0 && (op = after (rest, "op")) != NULL)
        return g_strdup_printf ("down_blocks.%" G_GINT64_FORMAT ".downsamplers.0.conv.%s", i, op);
      g_autofree gchar *block = g_strdup_printf ("down_blocks.%" G_GINT64_FORMAT ".%s.%" G_GINT64_FORMAT, i,
                                                 s == 0 ? "resnets" : "attentions", j);
      if (j < layers && s == 0)
        return unet_resnet (block, rest);
      if (j < layers && s == 1)
        return g_strconcat (block, ".", rest, NULL);
      return NULL;
    }

  /* output_blocks.{k}.{s}: k = per·i + j (resnet s = 0, attention s = 1), the upsampler
   * "conv" as s = 1 without attention or s = 2 with it */
  if ((rest = after (name, "output_blocks")) != NULL && take_index (rest, &k, &rest) && take_index (rest, &s, &rest))
    {
      gint64 i = k / per, j = k % per;
      const gchar *conv;
      if (s >= 1 && j == layers && (conv = after (rest, "conv")) != NULL)
        return g_strdup_printf ("up_blocks.%" G_GINT64_FORMAT ".upsamplers.0.conv.%s", i, conv);
      g_autofree gchar *block = g_strdup_printf ("up_blocks.%" G_GINT64_FORMAT ".%s.%" G_GINT64_FORMAT, i,
                                                 s == 0 ? "resnets" : "attentions", j);
      if (s == 0)
        return unet_resnet (block, rest);
      if (s == 1)
        return g_strconcat (block, ".", rest, NULL);
      return NULL;
    }
  return NULL;
}

/* a VAE name after "first_stage_model." (convert_ldm_vae_checkpoint), decoder only */
static gchar *
vae_from_compvis (const gchar *name,
                  gint64       n_blocks)
{
  const gchar *rest;
  gint64 level, j;

  /* resnets of the mid block have their own inner names */
  for (gsize i = 0; i < G_N_ELEMENTS (vae_top_names); i++)
    if ((rest = after (name, vae_top_names[i].compvis)) != NULL)
      {
        if (g_str_has_suffix (vae_top_names[i].compvis, "block_1")
            || g_str_has_suffix (vae_top_names[i].compvis, "block_2"))
          {
            g_autofree gchar *layer = translate (vae_resnet_names, G_N_ELEMENTS (vae_resnet_names), rest);
            return layer ? g_strconcat (vae_top_names[i].diffusers, ".", layer, NULL) : NULL;
          }
        return g_strconcat (vae_top_names[i].diffusers, ".", rest, NULL);
      }

  /* decoder.up.{level}: level 0 is the last (full-resolution) block, so up_blocks.{n-1-level} */
  if ((rest = after (name, "decoder.up")) == NULL || !take_index (rest, &level, &rest) || level >= n_blocks)
    return NULL;
  gint64 i = n_blocks - 1 - level;
  const gchar *inner;
  if ((inner = after (rest, "upsample.conv")) != NULL)
    return g_strdup_printf ("decoder.up_blocks.%" G_GINT64_FORMAT ".upsamplers.0.conv.%s", i, inner);
  if ((inner = after (rest, "block")) != NULL && take_index (inner, &j, &inner))
    {
      g_autofree gchar *layer = translate (vae_resnet_names, G_N_ELEMENTS (vae_resnet_names), inner);
      return layer ? g_strdup_printf ("decoder.up_blocks.%" G_GINT64_FORMAT ".resnets.%" G_GINT64_FORMAT ".%s", i, j,
                                      layer)
                   : NULL;
    }
  return NULL;
}

gchar *
gill_sd_name_from_compvis (const gchar *name,
                           gint64       layers_per_block,
                           gint64       vae_blocks,
                           GillSdPart  *part)
{
  g_return_val_if_fail (name != NULL && part != NULL, NULL);
  if (g_str_has_prefix (name, UNET_PREFIX))
    {
      *part = GILL_SD_PART_UNET;
      return unet_from_compvis (name + strlen (UNET_PREFIX), layers_per_block);
    }
  if (g_str_has_prefix (name, VAE_PREFIX))
    {
      *part = GILL_SD_PART_VAE;
      return vae_from_compvis (name + strlen (VAE_PREFIX), vae_blocks);
    }
  if (g_str_has_prefix (name, TEXT_PREFIX))
    {
      /* convert_ldm_clip_checkpoint: strip the prefix; the buffer position_ids is not a weight */
      const gchar *rest = name + strlen (TEXT_PREFIX);
      *part = GILL_SD_PART_TEXT_ENCODER;
      if (g_str_has_suffix (rest, "position_ids"))
        return NULL;
      return g_str_has_prefix (rest, "text_model.") ? g_strdup (rest) : g_strconcat ("text_model.", rest, NULL);
    }
  return NULL;
}

gchar *
gill_sd_name_from_legacy_vae (const gchar *name)
{
  const gchar *marker = strstr (name, "attentions.");
  const gchar *rest;
  gint64 index;
  if (marker == NULL || !take_index (marker + strlen ("attentions."), &index, &rest))
    return g_strdup (name);
  for (gsize i = 0; i < G_N_ELEMENTS (vae_legacy_attention_names); i++)
    {
      const gchar *tail = after (rest, vae_legacy_attention_names[i].compvis);
      if (tail)
        return g_strdup_printf ("%.*s%s.%s", (int) (rest - name), name, vae_legacy_attention_names[i].diffusers, tail);
    }
  return g_strdup (name);
}

const gchar *
gill_sd_part_name (GillSdPart part)
{
  switch (part)
    {
    case GILL_SD_PART_TEXT_ENCODER: return "text_encoder";
    case GILL_SD_PART_UNET: return "unet";
    case GILL_SD_PART_VAE: return "vae";
    default: return "?";
    }
}

/* ------------------------------------------------------------------ files */

typedef struct
{
  GillTensor *tensor;  /* a ref: the store's tensor or a reshaped view of it */
  gchar *origin;       /* "file (as 'its name')" for messages */
} Entry;

typedef struct
{
  GillStore *store;     /* NULL while unmapped */
  GHashTable *entries;  /* canonical name -> Entry* */
} Part;

struct _GillSdFiles
{
  gchar *path;
  gboolean single;              /* a CompVis single file */
  gchar *checkpoint;            /* that file */
  gboolean use_ema;
  gchar *variant;
  JsonObject *configs[GILL_SD_N_PARTS];
  JsonObject *scheduler;
  gchar *tokenizer_dir;
  gint64 layers_per_block;      /* for the CompVis block indices */
  gint64 vae_blocks;
  Part parts[GILL_SD_N_PARTS];
};

static void
entry_free (Entry *e)
{
  gill_tensor_unref (e->tensor);
  g_free (e->origin);
  g_free (e);
}

void
gill_sd_files_unmap (GillSdFiles *files,
                     GillSdPart   part)
{
  Part *p = &files->parts[part];
  g_clear_pointer (&p->entries, g_hash_table_unref);
  g_clear_pointer (&p->store, gill_store_free);
}

void
gill_sd_files_free (GillSdFiles *files)
{
  if (files == NULL)
    return;
  for (gint i = 0; i < GILL_SD_N_PARTS; i++)
    {
      gill_sd_files_unmap (files, i);
      g_clear_pointer (&files->configs[i], json_object_unref);
    }
  g_clear_pointer (&files->scheduler, json_object_unref);
  g_free (files->path);
  g_free (files->checkpoint);
  g_free (files->variant);
  g_free (files->tokenizer_dir);
  g_free (files);
}

const gchar *
gill_sd_files_layout (const GillSdFiles *files)
{
  return files->single ? "compvis" : "diffusers";
}

JsonObject *
gill_sd_files_config (const GillSdFiles *files,
                      GillSdPart         part)
{
  return files->configs[part];
}

JsonObject *
gill_sd_files_scheduler_config (const GillSdFiles *files)
{
  return files->scheduler;
}

const gchar *
gill_sd_files_tokenizer_dir (const GillSdFiles *files)
{
  return files->tokenizer_dir;
}

/* a JSON file's top-level object (transfer full) */
static JsonObject *
read_json_object (const gchar *path,
                  GError     **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  GError *local = NULL;
  if (!json_parser_load_from_file (parser, path, &local))
    {
      gboolean missing = g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      g_set_error (error, GILL_ERROR, missing ? GILL_ERROR_MODEL_MISSING : GILL_ERROR_FORMAT, "%s: %s", path,
                   local->message);
      g_error_free (local);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: not a JSON object", path);
      return NULL;
    }
  return json_node_dup_object (root);
}

/* the layers_per_block / block count the CompVis indices depend on, from the configs */
static void
files_block_counts (GillSdFiles *files)
{
  JsonObject *unet = files->configs[GILL_SD_PART_UNET], *vae = files->configs[GILL_SD_PART_VAE];
  files->layers_per_block = unet ? json_object_get_int_member_with_default (unet, "layers_per_block", 2) : 2;
  files->vae_blocks = 4;
  if (vae && json_object_has_member (vae, "block_out_channels")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (vae, "block_out_channels")))
    files->vae_blocks = json_array_get_length (json_object_get_array_member (vae, "block_out_channels"));
}

static gboolean
open_diffusers (GillSdFiles *files,
                GError     **error)
{
  static const GillSdPart parts[] = { GILL_SD_PART_UNET, GILL_SD_PART_VAE, GILL_SD_PART_TEXT_ENCODER };
  for (gsize i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autofree gchar *config = g_build_filename (files->path, gill_sd_part_name (parts[i]), "config.json", NULL);
      /* a pipeline may lack its text encoder (GILL passes embeddings); UNet and VAE are required */
      if (parts[i] == GILL_SD_PART_TEXT_ENCODER && !g_file_test (config, G_FILE_TEST_EXISTS))
        continue;
      if ((files->configs[parts[i]] = read_json_object (config, error)) == NULL)
        return FALSE;
    }
  g_autofree gchar *scheduler = g_build_filename (files->path, "scheduler", "scheduler_config.json", NULL);
  if ((files->scheduler = read_json_object (scheduler, error)) == NULL)
    return FALSE;
  g_autofree gchar *tokenizer = g_build_filename (files->path, "tokenizer", NULL);
  if (g_file_test (tokenizer, G_FILE_TEST_IS_DIR))
    files->tokenizer_dir = g_steal_pointer (&tokenizer);
  files_block_counts (files);
  return TRUE;
}

/* ---- single file: configs from the LDM yaml (convert_from_ckpt.py) */

static void
add_int (JsonBuilder *b, const gchar *key, gint64 v)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, v);
}

static void
add_double (JsonBuilder *b, const gchar *key, double v)
{
  json_builder_set_member_name (b, key);
  json_builder_add_double_value (b, v);
}

static void
add_bool (JsonBuilder *b, const gchar *key, gboolean v)
{
  json_builder_set_member_name (b, key);
  json_builder_add_boolean_value (b, v);
}

static void
add_string (JsonBuilder *b, const gchar *key, const gchar *v)
{
  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, v);
}

static JsonObject *
builder_object (JsonBuilder *b)
{
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_node_dup_object (root);
}

/* a flow list of integers, or `fallback` (n values) when the key is absent */
static GArray *
yaml_int_list (const GillLdmYaml *yaml,
               const gchar       *key,
               const gint64      *fallback,
               guint              n,
               GError           **error)
{
  if (gill_ldm_yaml_get (yaml, key) != NULL)
    return gill_ldm_yaml_get_int_list (yaml, key, error);
  GArray *a = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_vals (a, fallback, n);
  return a;
}

#define UNET_PARAMS "model.params.unet_config.params."
#define VAE_PARAMS "model.params.first_stage_config.params.ddconfig."

/* an integer a config takes from the yaml as it is, under its diffusers name; the fallback is
 * v1-inference.yaml's value */
typedef struct
{
  const gchar *yaml;
  const gchar *diffusers;
  gint64 fallback;
} YamlInt;

/* create_unet_diffusers_config's copied integers */
static const YamlInt unet_yaml_ints[] = {
  { UNET_PARAMS "in_channels", "in_channels", 4 },
  { UNET_PARAMS "out_channels", "out_channels", 4 },
  { UNET_PARAMS "num_res_blocks", "layers_per_block", 2 },
  { UNET_PARAMS "context_dim", "cross_attention_dim", 768 },
  { "model.params.image_size", "sample_size", 64 },
};

/* create_vae_diffusers_config's copied integers */
static const YamlInt vae_yaml_ints[] = {
  { VAE_PARAMS "in_channels", "in_channels", 3 },
  { VAE_PARAMS "out_ch", "out_channels", 3 },
  { VAE_PARAMS "z_channels", "latent_channels", 4 },
  { VAE_PARAMS "num_res_blocks", "layers_per_block", 2 },
};

/* each integer of `table`, read from the yaml, into the config being built */
static gboolean
add_yaml_ints (JsonBuilder       *b,
               const GillLdmYaml *yaml,
               const YamlInt     *table,
               gsize              n,
               GError           **error)
{
  for (gsize i = 0; i < n; i++)
    {
      gint64 value;
      if (!gill_ldm_yaml_get_int (yaml, table[i].yaml, table[i].fallback, &value, error))
        return FALSE;
      add_int (b, table[i].diffusers, value);
    }
  return TRUE;
}

/* "block_out_channels": the base width times each channel_mult */
static void
add_block_out_channels (JsonBuilder  *b,
                        gint64        base,
                        const GArray *mult)
{
  json_builder_set_member_name (b, "block_out_channels");
  json_builder_begin_array (b);
  for (guint i = 0; i < mult->len; i++)
    json_builder_add_int_value (b, base * g_array_index (mult, gint64, i));
  json_builder_end_array (b);
}

/* create_unet_diffusers_config: defaults are v1-inference.yaml's */
static JsonObject *
unet_config_from_yaml (const GillLdmYaml *yaml,
                       GError           **error)
{
  static const gint64 mult_default[] = { 1, 2, 4, 4 }, attn_default[] = { 4, 2, 1 };
  gint64 model_channels, heads, head_channels, depth;
  gboolean linear;
  if (!gill_ldm_yaml_get_int (yaml, UNET_PARAMS "model_channels", 320, &model_channels, error)
      || !gill_ldm_yaml_get_int (yaml, UNET_PARAMS "num_heads", 8, &heads, error)
      || !gill_ldm_yaml_get_int (yaml, UNET_PARAMS "num_head_channels", -1, &head_channels, error)
      || !gill_ldm_yaml_get_int (yaml, UNET_PARAMS "transformer_depth", 1, &depth, error)
      || !gill_ldm_yaml_get_bool (yaml, UNET_PARAMS "use_linear_in_transformer", FALSE, &linear, error))
    return NULL;
  g_autoptr (GArray) mult = yaml_int_list (yaml, UNET_PARAMS "channel_mult", mult_default, 4, error);
  g_autoptr (GArray) attn = mult ? yaml_int_list (yaml, UNET_PARAMS "attention_resolutions", attn_default, 3, error)
                                 : NULL;
  if (attn == NULL)
    return NULL;
  if (depth != 1 || mult->len == 0 || (head_channels <= 0 && heads <= 0))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED, "%s: transformer_depth %" G_GINT64_FORMAT
                   ", channel_mult or num_heads is not a Stable Diffusion 1.x/2.x UNet's", yaml->path, depth);
      return NULL;
    }

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "_class_name", "UNet2DConditionModel");
  if (!add_yaml_ints (b, yaml, unet_yaml_ints, G_N_ELEMENTS (unet_yaml_ints), error))
    return NULL;
  add_bool (b, "use_linear_projection", linear);
  add_int (b, "norm_num_groups", 32);
  add_double (b, "norm_eps", 1e-5);
  add_bool (b, "flip_sin_to_cos", TRUE);
  add_int (b, "freq_shift", 0);
  add_block_out_channels (b, model_channels, mult);
  /* heads per block: num_heads, or channels / num_head_channels (SD 2.x) */
  json_builder_set_member_name (b, "attention_head_dim");
  json_builder_begin_array (b);
  for (guint i = 0; i < mult->len; i++)
    json_builder_add_int_value (b, head_channels > 0 ? model_channels * g_array_index (mult, gint64, i) / head_channels
                                                     : heads);
  json_builder_end_array (b);
  /* a level has attention when its downsampling factor is in attention_resolutions */
  gboolean with_attention[16] = { FALSE };
  gint64 resolution = 1;
  for (guint i = 0; i < mult->len && i < G_N_ELEMENTS (with_attention); i++, resolution *= 2)
    for (guint a = 0; a < attn->len; a++)
      with_attention[i] |= g_array_index (attn, gint64, a) == resolution;
  json_builder_set_member_name (b, "down_block_types");
  json_builder_begin_array (b);
  for (guint i = 0; i < mult->len; i++)
    json_builder_add_string_value (b, with_attention[i] ? "CrossAttnDownBlock2D" : "DownBlock2D");
  json_builder_end_array (b);
  json_builder_set_member_name (b, "up_block_types");
  json_builder_begin_array (b);
  for (guint i = mult->len; i-- > 0;)
    json_builder_add_string_value (b, with_attention[i] ? "CrossAttnUpBlock2D" : "UpBlock2D");
  json_builder_end_array (b);
  return builder_object (b);
}

/* create_vae_diffusers_config; sample_size = the latent size × the VAE's upsampling */
static JsonObject *
vae_config_from_yaml (const GillLdmYaml *yaml,
                      GError           **error)
{
  static const gint64 mult_default[] = { 1, 2, 4, 4 };
  gint64 ch, latent;
  double scale;
  if (!gill_ldm_yaml_get_int (yaml, VAE_PARAMS "ch", 128, &ch, error)
      || !gill_ldm_yaml_get_int (yaml, "model.params.image_size", 64, &latent, error)
      || !gill_ldm_yaml_get_double (yaml, "model.params.scale_factor", 0.18215, &scale, error))
    return NULL;
  g_autoptr (GArray) mult = yaml_int_list (yaml, VAE_PARAMS "ch_mult", mult_default, 4, error);
  if (mult == NULL)
    return NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "_class_name", "AutoencoderKL");
  if (!add_yaml_ints (b, yaml, vae_yaml_ints, G_N_ELEMENTS (vae_yaml_ints), error))
    return NULL;
  add_int (b, "norm_num_groups", 32);
  add_string (b, "act_fn", "silu");
  add_double (b, "scaling_factor", scale);
  add_int (b, "sample_size", latent << (mult->len - 1));
  add_block_out_channels (b, ch, mult);
  json_builder_set_member_name (b, "up_block_types");
  json_builder_begin_array (b);
  for (guint i = 0; i < mult->len; i++)
    json_builder_add_string_value (b, "UpDecoderBlock2D");
  json_builder_end_array (b);
  return builder_object (b);
}

/* the PNDM scheduler download_from_original_stable_diffusion_ckpt builds (scheduler_type "pndm") */
static JsonObject *
scheduler_config_from_yaml (const GillLdmYaml *yaml,
                            GError           **error)
{
  double start, end;
  gint64 timesteps;
  if (!gill_ldm_yaml_get_double (yaml, "model.params.linear_start", 0.00085, &start, error)
      || !gill_ldm_yaml_get_double (yaml, "model.params.linear_end", 0.012, &end, error)
      || !gill_ldm_yaml_get_int (yaml, "model.params.timesteps", 1000, &timesteps, error))
    return NULL;
  const gchar *param = gill_ldm_yaml_get (yaml, "model.params.parameterization");
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "_class_name", "PNDMScheduler");
  add_double (b, "beta_start", start);
  add_double (b, "beta_end", end);
  add_string (b, "beta_schedule", "scaled_linear");
  add_int (b, "num_train_timesteps", timesteps);
  add_int (b, "steps_offset", 1);
  add_bool (b, "clip_sample", FALSE);
  add_bool (b, "set_alpha_to_one", FALSE);
  add_bool (b, "skip_prk_steps", TRUE);
  add_string (b, "prediction_type", g_strcmp0 (param, "v") == 0 ? "v_prediction" : "epsilon");
  return builder_object (b);
}

/* the one file in `folder` whose name ends in one of `suffixes` (NULL-terminated), or NULL when
 * there is none or several (then none is obviously the one) */
static gchar *
only_file_in (const gchar        *folder,
              const gchar *const *suffixes)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  gchar *found = NULL;
  const gchar *name;
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    for (gsize i = 0; suffixes[i]; i++)
      if (g_str_has_suffix (name, suffixes[i]))
        {
          if (found)
            {
              g_free (found);
              return NULL;
            }
          found = g_build_filename (folder, name, NULL);
          break;
        }
  return found;
}

/* the yaml of a single file: <stem>.yaml, or the only .yaml in its folder */
static gchar *
find_yaml (const gchar *checkpoint)
{
  static const gchar *const yaml[] = { ".yaml", NULL };
  g_autofree gchar *dir = g_path_get_dirname (checkpoint);
  g_autofree gchar *base = g_path_get_basename (checkpoint);
  gchar *dot = strrchr (base, '.');
  if (dot)
    *dot = '\0';
  g_autofree gchar *stem_yaml = g_strconcat (dir, G_DIR_SEPARATOR_S, base, ".yaml", NULL);
  if (g_file_test (stem_yaml, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&stem_yaml);
  return only_file_in (dir, yaml);
}

static gboolean
open_single (GillSdFiles *files,
             const gchar *yaml_path,
             GError     **error)
{
  g_autofree gchar *found = yaml_path ? g_strdup (yaml_path) : find_yaml (files->checkpoint);
  g_autoptr (GillLdmYaml) yaml = found ? gill_ldm_yaml_load (found, error)
                                       : gill_ldm_yaml_parse ("", 0, "v1-inference.yaml (built in)", error);
  if (yaml == NULL)
    return FALSE;
  if ((files->configs[GILL_SD_PART_UNET] = unet_config_from_yaml (yaml, error)) == NULL
      || (files->configs[GILL_SD_PART_VAE] = vae_config_from_yaml (yaml, error)) == NULL
      || (files->scheduler = scheduler_config_from_yaml (yaml, error)) == NULL)
    {
      if (found)
        g_prefix_error (error, "%s: ", found);
      return FALSE;
    }
  /* real SD 1.x yamls give no text-encoder parameters (always CLIP ViT-L/14): NULL then */
  files->configs[GILL_SD_PART_TEXT_ENCODER] = gill_ldm_yaml_to_json (yaml, "model.params.cond_stage_config.params");
  files_block_counts (files);
  return TRUE;
}

GillSdFiles *
gill_sd_files_open (const gchar              *path,
                    const GillSdFilesOptions *options,
                    GError                  **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  static const GillSdFilesOptions defaults = { FALSE, NULL, NULL };
  if (options == NULL)
    options = &defaults;
  g_autoptr (GillSdFiles) files = g_new0 (GillSdFiles, 1);
  files->path = g_strdup (path);
  files->use_ema = options->use_ema;
  files->variant = g_strdup (options->variant);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no such file or folder; point at a diffusers "
                   "folder (model_index.json) or a single .safetensors/.ckpt checkpoint", path);
      return NULL;
    }
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autofree gchar *index = g_build_filename (path, "model_index.json", NULL);
      g_autofree gchar *unet = g_build_filename (path, "unet", NULL);
      if (g_file_test (index, G_FILE_TEST_EXISTS) || g_file_test (unet, G_FILE_TEST_IS_DIR))
        return open_diffusers (files, error) ? g_steal_pointer (&files) : NULL;
      static const gchar *const checkpoint[] = { ".safetensors", ".ckpt", NULL };
      files->checkpoint = only_file_in (path, checkpoint);
      if (files->checkpoint == NULL)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: neither a diffusers folder (model_index.json, "
                       "unet/, vae/) nor a folder with one .safetensors/.ckpt checkpoint", path);
          return NULL;
        }
    }
  else
    files->checkpoint = g_strdup (path);
  files->single = TRUE;
  return open_single (files, options->yaml, error) ? g_steal_pointer (&files) : NULL;
}

/* ---- mapping a part */

/* the weight file of a diffusers part folder: by variant, safetensors before .bin */
static gchar *
diffusers_weight_file (const gchar *folder,
                       GillSdPart   part,
                       const gchar *variant)
{
  const gchar *stem_st = part == GILL_SD_PART_TEXT_ENCODER ? "model" : "diffusion_pytorch_model";
  const gchar *stem_bin = part == GILL_SD_PART_TEXT_ENCODER ? "pytorch_model" : "diffusion_pytorch_model";
  const gchar *preferred = variant ? variant : "";
  const gchar *other = variant ? "" : "fp16";
  const gchar *order[2] = { preferred, other };
  for (gint v = 0; v < 2; v++)
    for (gint kind = 0; kind < 2; kind++)
      {
        const gchar *stem = kind == 0 ? stem_st : stem_bin, *ext = kind == 0 ? "safetensors" : "bin";
        g_autofree gchar *name = order[v][0] ? g_strdup_printf ("%s.%s.%s", stem, order[v], ext)
                                             : g_strdup_printf ("%s.%s", stem, ext);
        g_autofree gchar *file = g_build_filename (folder, name, NULL);
        if (g_file_test (file, G_FILE_TEST_EXISTS))
          return g_steal_pointer (&file);
      }
  return NULL;
}

static gboolean
is_vae_attention_weight (const gchar *canonical)
{
  return g_str_has_prefix (canonical, "decoder.mid_block.attentions.")
         && (g_str_has_suffix (canonical, ".to_q.weight") || g_str_has_suffix (canonical, ".to_k.weight")
             || g_str_has_suffix (canonical, ".to_v.weight") || g_str_has_suffix (canonical, ".to_out.0.weight"));
}

/* add `tensor` as `canonical`; VAE attention 1×1-conv weights [C, C, 1, 1] become [C, C] views */
static gboolean
part_add (Part        *p,
          const gchar *canonical,
          const gchar *file_name,
          GillTensor  *tensor,
          const gchar *file,
          GError     **error)
{
  Entry *prior = g_hash_table_lookup (p->entries, canonical);
  if (prior)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: tensors '%s' and %s both name '%s'; one checkpoint "
                   "holds two copies of a weight", file, file_name, prior->origin, canonical);
      return FALSE;
    }
  Entry *e = g_new0 (Entry, 1);
  if (is_vae_attention_weight (canonical) && tensor->n_dims == 4 && tensor->shape[2] == 1 && tensor->shape[3] == 1)
    e->tensor = gill_tensor_new_view (tensor->dtype, 2, tensor->shape, tensor->strides, tensor->data, tensor->owner);
  else
    e->tensor = gill_tensor_ref (tensor);
  g_autofree gchar *base = g_path_get_basename (file);
  e->origin = g_strcmp0 (canonical, file_name) == 0 ? g_strdup (base)
                                                     : g_strdup_printf ("%s (as '%s')", base, file_name);
  g_hash_table_insert (p->entries, g_strdup (canonical), e);
  return TRUE;
}

static gboolean
map_diffusers (GillSdFiles *files,
               GillSdPart   part,
               Part        *p,
               GError     **error)
{
  g_autofree gchar *folder = g_build_filename (files->path, gill_sd_part_name (part), NULL);
  g_autofree gchar *file = diffusers_weight_file (folder, part, files->variant);
  if (!(file ? gill_store_add_file (p->store, file, error) : gill_store_add_path (p->store, folder, error)))
    return FALSE;
  g_autoptr (GPtrArray) names = gill_store_names_sorted (p->store);
  for (guint i = 0; i < names->len; i++)
    {
      const gchar *name = g_ptr_array_index (names, i);
      g_autofree gchar *canonical = part == GILL_SD_PART_VAE ? gill_sd_name_from_legacy_vae (name) : g_strdup (name);
      if (!part_add (p, canonical, name, gill_store_lookup (p->store, name), gill_store_file_of (p->store, name),
                     error))
        return FALSE;
    }
  return TRUE;
}

/* "model_ema." + the key without "model." and without its dots (the LDM EMA naming) */
static gchar *
ema_name (const gchar *name)
{
  g_autofree gchar *stripped = g_strdup (name + strlen ("model."));
  GString *s = g_string_new (UNET_EMA_PREFIX);
  for (const gchar *c = stripped; *c; c++)
    if (*c != '.')
      g_string_append_c (s, *c);
  return g_string_free (s, FALSE);
}

static gboolean
map_single (GillSdFiles *files,
            GillSdPart   part,
            Part        *p,
            GError     **error)
{
  if (!gill_store_add_file (p->store, files->checkpoint, error))
    return FALSE;
  g_autoptr (GPtrArray) names = gill_store_names_sorted (p->store);
  /* diffusers' --extract_ema rule: an EMA copy exists when there are over 100 model_ema keys */
  guint n_ema = 0;
  for (guint i = 0; i < names->len; i++)
    n_ema += g_str_has_prefix (g_ptr_array_index (names, i), UNET_EMA_PREFIX);
  gboolean take_ema = files->use_ema && n_ema > 100;
  for (guint i = 0; i < names->len; i++)
    {
      const gchar *name = g_ptr_array_index (names, i);
      GillSdPart owner;
      g_autofree gchar *canonical = gill_sd_name_from_compvis (name, files->layers_per_block, files->vae_blocks,
                                                               &owner);
      if (canonical == NULL || owner != part)
        continue;
      const gchar *source = name;
      g_autofree gchar *ema = NULL;
      if (take_ema && part == GILL_SD_PART_UNET)
        {
          ema = ema_name (name);
          if (gill_store_lookup (p->store, ema) == NULL)
            {
              g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: EMA weights asked for, but '%s' has "
                           "no EMA copy '%s'; load without EMA", files->checkpoint, name, ema);
              return FALSE;
            }
          source = ema;
        }
      if (!part_add (p, canonical, source, gill_store_lookup (p->store, source), files->checkpoint, error))
        return FALSE;
    }
  if (g_hash_table_size (p->entries) == 0)
    {
      static const gchar *const prefixes[] = { TEXT_PREFIX, UNET_PREFIX, VAE_PREFIX };
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no '%s*' tensors, so no %s; is this a "
                   "Stable Diffusion checkpoint?", files->checkpoint, prefixes[part], gill_sd_part_name (part));
      return FALSE;
    }
  return TRUE;
}

gboolean
gill_sd_files_map (GillSdFiles *files,
                   GillSdPart   part,
                   GError     **error)
{
  g_return_val_if_fail (files != NULL && part < GILL_SD_N_PARTS, FALSE);
  Part *p = &files->parts[part];
  if (p->store)
    return TRUE;
  p->store = gill_store_new ();
  p->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
  if (!(files->single ? map_single (files, part, p, error) : map_diffusers (files, part, p, error)))
    {
      gill_sd_files_unmap (files, part);
      return FALSE;
    }
  return TRUE;
}

static GillTensor *
part_lookup (gconstpointer source,
             const gchar  *name)
{
  const Part *p = source;
  Entry *e = p->entries ? g_hash_table_lookup (p->entries, name) : NULL;
  return e ? e->tensor : NULL;
}

static const gchar *
part_origin (gconstpointer source,
             const gchar  *name)
{
  const Part *p = source;
  Entry *e = p->entries ? g_hash_table_lookup (p->entries, name) : NULL;
  return e ? e->origin : NULL;
}

GillWeights
gill_sd_files_weights (const GillSdFiles *files,
                       GillSdPart         part)
{
  GillWeights w = { part_lookup, part_origin, &files->parts[part], NULL };
  return w;
}

guint
gill_sd_files_n_tensors (const GillSdFiles *files,
                         GillSdPart         part)
{
  return files->parts[part].entries ? g_hash_table_size (files->parts[part].entries) : 0;
}
