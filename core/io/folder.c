/* folder.c — recognising model folders and describing them for `gill info`. */
#include "core/io/folder.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "core/base/error.h"
#include "core/io/store.h"
#include "core/io/torch.h"

const gchar *
gill_layout_name (GillLayout layout)
{
  switch (layout)
    {
    case GILL_LAYOUT_FILE: return "weight file";
    case GILL_LAYOUT_HF: return "Hugging Face model folder";
    case GILL_LAYOUT_DIFFUSERS: return "diffusers pipeline folder";
    case GILL_LAYOUT_SD_SINGLE_FILE: return "single-file Stable Diffusion checkpoint (CompVis names)";
    case GILL_LAYOUT_GILL: return "GILL checkpoint folder";
    default: return "?";
    }
}

static gboolean
has_file (const gchar *folder,
          const gchar *name)
{
  g_autofree gchar *p = g_build_filename (folder, name, NULL);
  return g_file_test (p, G_FILE_TEST_EXISTS);
}

/* the one .safetensors/.ckpt file of a single-file SD folder, or NULL */
static gchar *
single_checkpoint_in (const gchar *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  gchar *found = NULL;
  const gchar *name;
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".safetensors") || g_str_has_suffix (name, ".ckpt"))
      {
        if (found)
          {
            g_free (found);
            return NULL; /* several: not a single-file folder */
          }
        found = g_build_filename (folder, name, NULL);
      }
  return found;
}

gboolean
gill_layout_detect (const gchar *path,
                    GillLayout  *layout,
                    GError     **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no such file or folder; check the path", path);
      return FALSE;
    }
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    *layout = GILL_LAYOUT_FILE;
  else if (has_file (path, "model_args.json"))
    *layout = GILL_LAYOUT_GILL;
  else if (has_file (path, "model_index.json"))
    *layout = GILL_LAYOUT_DIFFUSERS;
  else if (has_file (path, "config.json"))
    *layout = GILL_LAYOUT_HF;
  else
    {
      g_autofree gchar *ckpt = single_checkpoint_in (path);
      if (ckpt == NULL)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                       "%s: not a model folder gill knows (no config.json, model_index.json, "
                       "model_args.json or single .safetensors/.ckpt); point at the model's own folder",
                       path);
          return FALSE;
        }
      *layout = GILL_LAYOUT_SD_SINGLE_FILE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ description */

static void
append_bytes (GString *out,
              guint64  bytes)
{
  g_autofree gchar *human = g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
  g_string_append_printf (out, "%" G_GUINT64_FORMAT " (%s)", bytes, human);
}

/* config.json keys worth a glance, in this order, wherever they are defined */
static const gchar *const highlight_keys[] = {
  "model_type", "architectures", "_class_name", "_diffusers_version", "torch_dtype",
  "hidden_size", "word_embed_proj_dim", "num_hidden_layers", "num_attention_heads",
  "ffn_dim", "intermediate_size", "vocab_size", "max_position_embeddings",
  "do_layer_norm_before", "projection_dim", "image_size", "patch_size",
  "sample_size", "in_channels", "out_channels", "block_out_channels", "layers_per_block",
  "cross_attention_dim", "attention_head_dim", "latent_channels", "scaling_factor",
  "opt_version", "visual_encoder", "n_visual_tokens", "num_tokens", "ret_emb_dim",
  "gen_emb_dim", "text_emb_layers", "num_clip_tokens",
};

static void
append_json_highlights (GString     *out,
                        const gchar *indent,
                        const gchar *path)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_mapped_file (parser, path, NULL))
    {
      g_string_append_printf (out, "%sconfig: %s is not valid JSON\n", indent, path);
      return;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return;
  JsonObject *o = json_node_get_object (root);
  g_autofree gchar *base = g_path_get_basename (path);
  g_string_append_printf (out, "%s%s:", indent, base);
  for (gsize i = 0; i < G_N_ELEMENTS (highlight_keys); i++)
    {
      JsonNode *v = json_object_get_member (o, highlight_keys[i]);
      if (v == NULL)
        continue;
      g_autofree gchar *text = json_to_string (v, FALSE);
      g_string_append_printf (out, " %s=%s", highlight_keys[i], text);
    }
  g_string_append_c (out, '\n');
}

static void
append_tensor_table (GString         *out,
                     const gchar     *indent,
                     const GillStore *store)
{
  g_autoptr (GPtrArray) names = gill_store_names_sorted (store);
  for (guint i = 0; i < names->len; i++)
    {
      const gchar *name = g_ptr_array_index (names, i);
      GillTensor *t = gill_store_lookup (store, name);
      g_autofree gchar *shape = gill_tensor_shape_string (t);
      g_string_append_printf (out, "%s%-60s %-5s %s\n", indent, name, gill_dtype_name (t->dtype), shape);
    }
}

static void
append_store_summary (GString         *out,
                      const gchar     *indent,
                      const GillStore *store)
{
  const GPtrArray *files = gill_store_files (store);
  g_string_append_printf (out, "%sfiles: %u", indent, files->len);
  for (guint i = 0; i < files->len; i++)
    {
      const GillTensorList *l = g_ptr_array_index (files, i);
      g_autofree gchar *base = g_path_get_basename (l->path);
      g_string_append_printf (out, "%s%s (%s)", i ? ", " : " — ", base, l->format);
    }
  g_string_append_printf (out, "\n%stensors: %u\n%sbytes: ", indent, gill_store_n_tensors (store), indent);
  append_bytes (out, gill_store_total_bytes (store));
  g_string_append_c (out, '\n');
  for (guint i = 0; i < files->len; i++)
    {
      const GillTensorList *l = g_ptr_array_index (files, i);
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, l->metadata);
      while (g_hash_table_iter_next (&it, &k, &v))
        g_string_append_printf (out, "%smetadata: %s=%s\n", indent, (gchar *) k, (gchar *) v);
    }
}

/* a pickle without tensors in dicts (GILL's cc3m embeddings): its top-level structure */
static void
append_value_summary (GString         *out,
                      const gchar     *indent,
                      const GillValue *value)
{
  if (value->kind != GILL_VALUE_DICT)
    {
      g_string_append_printf (out, "%sobject: %s\n", indent, gill_value_kind_name (value->kind));
      return;
    }
  for (guint i = 0; i + 1 < value->items->len; i += 2)
    {
      const GillValue *k = g_ptr_array_index (value->items, i);
      const GillValue *v = g_ptr_array_index (value->items, i + 1);
      g_autofree gchar *key = k->kind == GILL_VALUE_STRING ? gill_value_string_dup (k) : g_strdup ("?");
      g_string_append_printf (out, "%s%s: %s", indent, key, gill_value_kind_name (v->kind));
      if (v->kind == GILL_VALUE_LIST || v->kind == GILL_VALUE_TUPLE)
        {
          g_string_append_printf (out, " of %u", v->items->len);
          if (v->items->len > 0)
            {
              const GillValue *first = g_ptr_array_index (v->items, 0);
              g_string_append_printf (out, ", first: %s", gill_value_kind_name (first->kind));
              if (first->kind == GILL_VALUE_TENSOR)
                {
                  g_autofree gchar *shape = gill_tensor_shape_string (first->tensor);
                  g_string_append_printf (out, " %s %s", gill_dtype_name (first->tensor->dtype), shape);
                }
            }
        }
      g_string_append_c (out, '\n');
    }
}

static gboolean
describe_weights (GString     *out,
                  const gchar *indent,
                  const gchar *path,
                  GError     **error)
{
  g_autoptr (GillStore) store = gill_store_new ();
  if (!gill_store_add_path (store, path, error))
    return FALSE;
  append_store_summary (out, indent, store);
  if (gill_store_n_tensors (store) == 0 && !g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GillValue) value = gill_torch_load (path, error);
      if (value == NULL)
        return FALSE;
      append_value_summary (out, indent, value);
    }
  g_autofree gchar *tensor_indent = g_strconcat (indent, "  ", NULL);
  if (gill_store_n_tensors (store) > 0)
    g_string_append_printf (out, "%stensors (sorted by name):\n", indent);
  append_tensor_table (out, tensor_indent, store);
  return TRUE;
}

static gboolean
describe_component (GString     *out,
                    const gchar *folder,
                    const gchar *component,
                    GError     **error)
{
  g_autofree gchar *path = g_build_filename (folder, component, NULL);
  g_autofree gchar *config = g_build_filename (path, "config.json", NULL);
  g_autofree gchar *scheduler = g_build_filename (path, "scheduler_config.json", NULL);
  g_string_append_printf (out, "component %s/\n", component);
  if (g_file_test (config, G_FILE_TEST_EXISTS))
    append_json_highlights (out, "  ", config);
  if (g_file_test (scheduler, G_FILE_TEST_EXISTS))
    {
      append_json_highlights (out, "  ", scheduler);
      return TRUE;
    }
  if (g_file_test (config, G_FILE_TEST_EXISTS))
    return describe_weights (out, "  ", path, error);
  g_string_append (out, "  (no weights: tokenizer or other files)\n");
  return TRUE;
}

static gboolean
describe_diffusers (GString     *out,
                    const gchar *path,
                    GError     **error)
{
  g_autofree gchar *index = g_build_filename (path, "model_index.json", NULL);
  append_json_highlights (out, "", index);
  static const gchar *const components[] = { "unet", "vae", "text_encoder", "tokenizer", "scheduler",
                                             "safety_checker", "feature_extractor" };
  for (gsize i = 0; i < G_N_ELEMENTS (components); i++)
    if (has_file (path, components[i]) && !describe_component (out, path, components[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
describe_gill (GString     *out,
               const gchar *path,
               GError     **error)
{
  g_autofree gchar *args = g_build_filename (path, "model_args.json", NULL);
  append_json_highlights (out, "", args);
  static const gchar *const parts[] = { "pretrained_ckpt.pth.tar", "decision_model.pth.tar",
                                        "cc3m_embeddings_urls.npy" };
  for (gsize i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autofree gchar *p = g_build_filename (path, parts[i], NULL);
      if (!g_file_test (p, G_FILE_TEST_EXISTS))
        {
          g_string_append_printf (out, "%s: missing\n", parts[i]);
          continue;
        }
      g_string_append_printf (out, "%s\n", parts[i]);
      if (!describe_weights (out, "  ", p, error))
        return FALSE;
    }
  return TRUE;
}

/* per-prefix tensor counts of a CompVis single file */
static void
append_compvis_parts (GString     *out,
                      const gchar *path)
{
  g_autoptr (GillStore) store = gill_store_new ();
  if (!gill_store_add_file (store, path, NULL))
    return;
  static const gchar *const prefixes[] = { "model.diffusion_model.", "first_stage_model.",
                                           "cond_stage_model.", "model_ema." };
  g_autoptr (GPtrArray) names = gill_store_names_sorted (store);
  for (gsize p = 0; p < G_N_ELEMENTS (prefixes); p++)
    {
      guint n = 0;
      for (guint i = 0; i < names->len; i++)
        n += g_str_has_prefix (g_ptr_array_index (names, i), prefixes[p]);
      if (n)
        g_string_append_printf (out, "part %s*: %u tensors\n", prefixes[p], n);
    }
}

gchar *
gill_model_describe (const gchar *path,
                     GError     **error)
{
  GillLayout layout;
  if (!gill_layout_detect (path, &layout, error))
    return NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  g_string_append_printf (out, "%s\nlayout: %s\n", path, gill_layout_name (layout));
  gboolean ok = TRUE;
  switch (layout)
    {
    case GILL_LAYOUT_FILE:
      ok = describe_weights (out, "", path, error);
      break;
    case GILL_LAYOUT_HF:
      {
        g_autofree gchar *config = g_build_filename (path, "config.json", NULL);
        append_json_highlights (out, "", config);
        ok = describe_weights (out, "", path, error);
        break;
      }
    case GILL_LAYOUT_DIFFUSERS:
      ok = describe_diffusers (out, path, error);
      break;
    case GILL_LAYOUT_SD_SINGLE_FILE:
      {
        g_autofree gchar *ckpt = single_checkpoint_in (path);
        g_string_append_printf (out, "checkpoint: %s\n", ckpt);
        append_compvis_parts (out, ckpt);
        ok = describe_weights (out, "", ckpt, error);
        break;
      }
    case GILL_LAYOUT_GILL:
      ok = describe_gill (out, path, error);
      break;
    }
  return ok ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}
