/* clip-model.c — opening CLIP checkpoints (see clip-model.h), and the public GillClip over them
 * (core/gill.h).
 *
 * Reference: transformers 4.30.2 CLIPModel / CLIPVisionModel / CLIPTextModel.from_pretrained
 * (config.json + weights), CLIPImageProcessor (preprocessor_config.json); diffusers 0.17.1
 * convert_from_ckpt.py (convert_ldm_clip_checkpoint; its key names live in core/io/sd-names.c). */
#include "core/gill/clip-model.h"

#include <string.h>

#include "core/base/error.h"
#include "core/io/hf-folder.h"
#include "core/io/ldm-yaml.h"

void
gill_clip_model_free (GillClipModel *model)
{
  if (model == NULL)
    return;
  g_clear_pointer (&model->vision, gill_clip_vision_weights_free);
  g_clear_pointer (&model->text, gill_clip_text_weights_free);
  g_clear_pointer (&model->store, gill_store_free);
  g_clear_pointer (&model->sd_files, gill_sd_files_free);
  g_free (model->path);
  g_free (model);
}

static GillClipModel *
clip_model_new (const gchar *path)
{
  GillClipModel *model = g_new0 (GillClipModel, 1);
  model->path = g_strdup (path);
  gill_clip_vision_config_default (&model->vision_config);
  gill_clip_text_config_default (&model->text_config);
  gill_preprocess_config_clip (&model->preprocess);
  return model;
}

/* the config's model_type: "clip", "clip_vision_model", "clip_text_model" (or NULL) */
static const gchar *
config_model_type (JsonObject *config)
{
  JsonNode *type = json_object_get_member (config, "model_type");
  if (type == NULL || !JSON_NODE_HOLDS_VALUE (type) || json_node_get_value_type (type) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (type);
}

static gboolean
clip_model_read_preprocess (GillClipModel *model,
                            const gchar   *folder,
                            GError       **error)
{
  g_autofree gchar *path = g_build_filename (folder, "preprocessor_config.json", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE; /* CLIPImageProcessor's defaults are openai/clip-vit-large-patch14's */
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_mapped_file (parser, path, &local) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: %s", path,
                   local ? local->message : "not a JSON object");
      return FALSE;
    }
  if (!gill_preprocess_config_from_json (json_node_get_object (json_parser_get_root (parser)), &model->preprocess,
                                         &local))
    {
      g_set_error (error, GILL_ERROR, local->code, "%s: %s", path, local->message);
      return FALSE;
    }
  return TRUE;
}

/* bind the towers asked for from a lookup whose names start at the CLIPModel root */
static gboolean
clip_model_bind (GillClipModel     *model,
                 const GillWeights *lookup,
                 GillClipTowers     towers,
                 GError           **error)
{
  if ((towers & GILL_CLIP_TOWER_VISION)
      && (model->vision = gill_clip_vision_weights_bind (&model->vision_config, lookup, error)) == NULL)
    return FALSE;
  if ((towers & GILL_CLIP_TOWER_TEXT)
      && (model->text = gill_clip_text_weights_bind (&model->text_config, lookup, error)) == NULL)
    return FALSE;
  if (gill_weights_has (lookup, "logit_scale"))
    {
      if (!gill_clip_logit_scale (lookup, &model->logit_scale, error))
        return FALSE;
      model->has_logit_scale = TRUE;
    }
  return TRUE;
}

GillClipModel *
gill_clip_model_open_compvis (const gchar *file,
                              const gchar *yaml_path,
                              GError     **error)
{
  g_return_val_if_fail (file != NULL, NULL);
  g_autoptr (GillClipModel) model = clip_model_new (file);

  /* the text tower's shape: the yaml's cond_stage_config.params, else ViT-L/14's (SD 1.x) */
  g_autofree gchar *beside = NULL;
  if (yaml_path == NULL)
    {
      g_autofree gchar *stem = g_strdup (file);
      gchar *dot = strrchr (stem, '.');
      if (dot && !strchr (dot, G_DIR_SEPARATOR))
        *dot = '\0';
      beside = g_strconcat (stem, ".yaml", NULL);
      if (g_file_test (beside, G_FILE_TEST_EXISTS))
        yaml_path = beside;
    }
  gill_clip_text_config_preset ("vit-l-14", &model->text_config, NULL);
  if (yaml_path)
    {
      g_autoptr (GillLdmYaml) yaml = gill_ldm_yaml_load (yaml_path, error);
      if (yaml == NULL)
        return NULL;
      const gchar *target = gill_ldm_yaml_get (yaml, "model.params.cond_stage_config.target");
      if (target && !g_str_has_suffix (target, ".FrozenCLIPEmbedder"))
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                       "%s: cond_stage_config.target is %s; only SD 1.x's FrozenCLIPEmbedder (CLIP ViT-L/14 "
                       "text) is supported", yaml_path, target);
          return NULL;
        }
      g_autoptr (JsonObject) params = gill_ldm_yaml_to_json (yaml, "model.params.cond_stage_config.params");
      if (params && !gill_clip_text_config_from_json (params, yaml_path, &model->text_config, error))
        return NULL;
    }

  /* the weights: the file's text encoder under CLIPTextModel's names, as the SD single-file
   * name map (core/io/sd-names.c) gives them */
  const GillSdFilesOptions options = { .yaml = yaml_path };
  model->sd_files = gill_sd_files_open (file, &options, error);
  if (model->sd_files == NULL || !gill_sd_files_map (model->sd_files, GILL_SD_PART_TEXT_ENCODER, error))
    return NULL;
  GillWeights lookup = gill_sd_files_weights (model->sd_files, GILL_SD_PART_TEXT_ENCODER);
  if (!clip_model_bind (model, &lookup, GILL_CLIP_TOWER_TEXT, error))
    return NULL;
  return g_steal_pointer (&model);
}

GillClipModel *
gill_clip_model_open (const gchar   *path,
                      GillClipTowers towers,
                      GError       **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "%s: no such file or folder; give the CLIP model folder (openai/clip-vit-large-patch14)", path);
      return NULL;
    }
  /* a weight file: its folder's config.json, or a CompVis single file */
  g_autofree gchar *folder = NULL;
  g_autofree gchar *weights = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    folder = g_strdup (path);
  else
    {
      folder = g_path_get_dirname (path);
      weights = g_path_get_basename (path);
      g_autofree gchar *config = g_build_filename (folder, "config.json", NULL);
      if (!g_file_test (config, G_FILE_TEST_EXISTS))
        {
          if (towers & GILL_CLIP_TOWER_VISION)
            {
              g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                           "%s: a weight file without config.json beside it; the CLIP vision tower needs the "
                           "model folder (openai/clip-vit-large-patch14)", path);
              return NULL;
            }
          return gill_clip_model_open_compvis (path, NULL, error);
        }
    }

  g_autoptr (GillHfFolder) hf = gill_hf_folder_open (folder, weights, error);
  if (hf == NULL)
    return NULL;
  g_autoptr (GillClipModel) model = clip_model_new (path);
  model->store = g_steal_pointer (&hf->store);

  /* which towers the checkpoint has: CLIPModel both, the single-tower classes one */
  const gchar *type = config_model_type (hf->config);
  gboolean has_vision = type == NULL || !g_str_equal (type, "clip_text_model");
  gboolean has_text = type == NULL || !g_str_equal (type, "clip_vision_model");
  if (((towers & GILL_CLIP_TOWER_VISION) && !has_vision) || ((towers & GILL_CLIP_TOWER_TEXT) && !has_text))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: a %s checkpoint has no %s tower; give %s",
                   hf->config_path, type, has_vision ? "text" : "vision",
                   has_vision ? "a CLIPModel or CLIPTextModel folder" : "openai/clip-vit-large-patch14's folder");
      return NULL;
    }
  if ((has_vision && !gill_clip_vision_config_from_json (hf->config, hf->config_path, &model->vision_config, error))
      || (has_text && !gill_clip_text_config_from_json (hf->config, hf->config_path, &model->text_config, error)))
    return NULL;
  if (!clip_model_read_preprocess (model, folder, error))
    return NULL;
  GillWeights lookup = gill_store_weights (model->store);
  if (!clip_model_bind (model, &lookup, towers, error))
    return NULL;
  return g_steal_pointer (&model);
}

gboolean
gill_clip_model_embed_files (GillClipModel      *model,
                             const gchar *const *files,
                             gsize               n,
                             gint                batch,
                             float              *pooled,
                             float              *embeds,
                             GError            **error)
{
  g_return_val_if_fail (model != NULL && files != NULL && batch > 0, FALSE);
  if (model->vision == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT, "%s: opened without the vision tower", model->path);
      return FALSE;
    }
  const GillClipVisionConfig *config = &model->vision_config;
  gint64 size = config->image_size, d = config->encoder.hidden_size, p = config->projection_dim;
  gint w, h;
  gill_preprocess_output_size (&model->preprocess, (gint) size, (gint) size, &w, &h);
  if (!model->preprocess.do_center_crop || w != size || h != size || config->num_channels != 3)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: the preprocessing does not crop to the model's %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                   " input (preprocessor_config.json crop_size)", model->path, size, size);
      return FALSE;
    }
  g_autoptr (GillClipState) state = gill_clip_state_new_vision (config, batch, error);
  if (state == NULL)
    return FALSE;
  gsize image_floats = (gsize) config->num_channels * size * size;
  g_autofree float *pixels = g_new (float, image_floats * batch);
  for (gsize at = 0; at < n; at += batch)
    {
      gsize count = MIN ((gsize) batch, n - at);
      for (gsize i = 0; i < count; i++)
        {
          g_autoptr (GillImage) image = gill_image_load_rgb (files[at + i], error);
          if (image == NULL
              || !gill_preprocess_image_into (&model->preprocess, image, pixels + i * image_floats, error))
            return FALSE;
        }
      GillClipOutput out = {
        .pooler_output = pooled ? pooled + at * d : NULL,
        .embeds = embeds ? embeds + at * p : NULL,
      };
      if (!gill_clip_vision_forward (model->vision, state, pixels, (gint64) count, &out, error))
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ the public API (core/gill.h) */

struct _GillClip
{
  GillClipModel *model;   /* the vision tower only */
};

GillClip *
gill_clip_open (const gchar *path,
                GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  GillClipModel *model = gill_clip_model_open (path, GILL_CLIP_TOWER_VISION, error);
  if (model == NULL)
    return NULL;
  GillClip *clip = g_new0 (GillClip, 1);
  clip->model = model;
  return clip;
}

void
gill_clip_free (GillClip *clip)
{
  if (clip == NULL)
    return;
  g_clear_pointer (&clip->model, gill_clip_model_free);
  g_free (clip);
}

gint64
gill_clip_get_pooled_dim (const GillClip *clip)
{
  g_return_val_if_fail (clip != NULL, 0);
  return clip->model->vision_config.encoder.hidden_size;
}

gint64
gill_clip_get_projection_dim (const GillClip *clip)
{
  g_return_val_if_fail (clip != NULL, 0);
  return clip->model->vision->visual_projection ? clip->model->vision_config.projection_dim : 0;
}

gboolean
gill_clip_embed_image_files (GillClip           *clip,
                             const gchar *const *files,
                             gsize               n_files,
                             gint                batch,
                             float              *pooled,
                             float              *embeds,
                             GError            **error)
{
  g_return_val_if_fail (clip != NULL && files != NULL && batch > 0 && batch <= 256, FALSE);
  return gill_clip_model_embed_files (clip->model, files, n_files, batch, pooled, embeds, error);
}
