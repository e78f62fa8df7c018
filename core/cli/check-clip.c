/* check-clip.c — fixture kinds clip.preprocess, clip.vision, clip.text and clip.similarity
 * (fixtures README, "Kinds").
 *
 * clip.preprocess: Image.open (inputs.image_file).convert ("RGB") through CLIPImageProcessor
 * (the model folder's preprocessor_config.json) -> pixel_values [1, 3, 224, 224].
 * clip.vision: the vision tower on inputs.pixel_values -> last_hidden_state, pooler_output,
 * image_embeds, hidden_state_k. clip.text: the text tower on inputs.input_ids ->
 * last_hidden_state, pooler_output, text_embeds, hidden_state_k. clip.similarity: both ->
 * logits_per_image.
 *
 * Where the model is: manifest "model_folder" (tiny-clip; one layout per weight file the folder
 * holds: safetensors, bin), or "diffusers_folder" + its text_encoder/ (tiny-sd; layout
 * "diffusers") and, where the manifest names a "compvis_file", the same case from that single
 * file and its "compvis_yaml" (layout "compvis"). */
#include "core/cli/check.h"

#include <string.h>

#include "core/base/error.h"
#include "core/gill/clip-model.h"
#include "core/image/image.h"
#include "core/image/preprocess.h"

/* ------------------------------------------------------------------ where the model is */

static gchar **
clip_layouts (const GillCheckCase *c)
{
  GPtrArray *layouts = g_ptr_array_new ();
  const gchar *model_folder = gill_check_manifest_string (c, "model_folder");
  if (model_folder)
    {
      static const gchar *const files[][2] = { { "model.safetensors", "safetensors" },
                                               { "pytorch_model.bin", "bin" } };
      g_autofree gchar *folder = gill_check_path (c, model_folder);
      for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
        {
          g_autofree gchar *file = g_build_filename (folder, files[i][0], NULL);
          if (g_file_test (file, G_FILE_TEST_EXISTS))
            g_ptr_array_add (layouts, g_strdup (files[i][1]));
        }
    }
  else if (gill_check_manifest_string (c, "diffusers_folder"))
    {
      g_ptr_array_add (layouts, g_strdup ("diffusers"));
      if (gill_check_manifest_string (c, "compvis_file"))
        g_ptr_array_add (layouts, g_strdup ("compvis"));
    }
  if (layouts->len == 0)
    {
      g_ptr_array_unref (layouts);
      return NULL; /* run once: the case fails saying where a model was expected */
    }
  g_ptr_array_add (layouts, NULL);
  return (gchar **) g_ptr_array_free (layouts, FALSE);
}

static GillClipModel *
clip_case_model (const GillCheckCase *c,
                 GillClipTowers       towers,
                 GError             **error)
{
  const gchar *model_folder = gill_check_manifest_string (c, "model_folder");
  const gchar *diffusers = gill_check_manifest_string (c, "diffusers_folder");
  if (model_folder)
    {
      g_autofree gchar *folder = gill_check_path (c, model_folder);
      const gchar *file = g_strcmp0 (c->layout, "bin") == 0           ? "pytorch_model.bin"
                          : g_strcmp0 (c->layout, "safetensors") == 0 ? "model.safetensors"
                                                                       : NULL;
      g_autofree gchar *path = file ? g_build_filename (folder, file, NULL) : g_strdup (folder);
      return gill_clip_model_open (path, towers, error);
    }
  if (diffusers && g_strcmp0 (c->layout, "compvis") == 0)
    {
      g_autofree gchar *file = gill_check_path (c, gill_check_manifest_string (c, "compvis_file"));
      const gchar *yaml = gill_check_manifest_string (c, "compvis_yaml");
      g_autofree gchar *yaml_path = yaml ? gill_check_path (c, yaml) : NULL;
      return gill_clip_model_open_compvis (file, yaml_path, error);
    }
  if (diffusers)
    {
      g_autofree gchar *folder = gill_check_path (c, diffusers);
      g_autofree gchar *text_encoder = g_build_filename (folder, "text_encoder", NULL);
      return gill_clip_model_open (text_encoder, towers, error);
    }
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
               "%s/manifest.json: names no CLIP model (\"model_folder\" or \"diffusers_folder\")", c->folder);
  return NULL;
}

/* ------------------------------------------------------------------ helpers */

static GillTensor *
new_f32 (gint64 d0,
         gint64 d1,
         gint64 d2)
{
  gint64 shape[3] = { d0, d1, d2 };
  return gill_tensor_new_f32 (d2 > 0 ? 3 : 2, shape);
}

/* an input tensor as contiguous data, checking its rank and dtype family */
static GillTensor *
input_tensor (const GillCheckCase *c,
              const gchar         *key,
              gint                 n_dims,
              gboolean             integer,
              GError             **error)
{
  g_autoptr (GillTensor) t = gill_check_input_tensor (c, key, error);
  if (t == NULL)
    return NULL;
  if (t->n_dims != n_dims || gill_dtype_is_float (t->dtype) == integer)
    {
      g_autofree gchar *shape = gill_tensor_shape_string (t);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE, "case '%s': inputs.%s is %s %s; expected %d dimensions of %s",
                   c->name, key, gill_dtype_name (t->dtype), shape, n_dims, integer ? "integers" : "floats");
      return NULL;
    }
  GillTensor *copy = integer ? gill_tensor_new_i64 (t->n_dims, t->shape) : gill_tensor_new_f32 (t->n_dims, t->shape);
  if (integer)
    gill_tensor_copy_i64 (t, gill_tensor_data_i64 (copy));
  else
    gill_tensor_copy_f32 (t, gill_tensor_data_f32 (copy));
  return copy;
}

/* what a tower's forward writes: last_hidden_state [B, t, d], pooler_output [B, d], the
 * projection [B, p] when the model has one (p > 0), and hidden_state_0 .. _L when the results
 * are wanted */
typedef struct
{
  GillTensor *last, *pooled, *projected;
  gint64 n_hidden;
  GillTensor **hidden;
  float **hidden_data;
} TowerOutputs;

static GillClipOutput
tower_outputs_init (TowerOutputs                *o,
                    const GillClipEncoderConfig *encoder,
                    gint64                       batch,
                    gint64                       t,
                    gint64                       projection_dim,
                    gboolean                     with_hidden)
{
  gint64 d = encoder->hidden_size;
  *o = (TowerOutputs) { new_f32 (batch, t, d), new_f32 (batch, d, 0),
                        projection_dim > 0 ? new_f32 (batch, projection_dim, 0) : NULL, 0, NULL, NULL };
  if (with_hidden)
    {
      o->n_hidden = encoder->num_hidden_layers + 1;
      o->hidden = g_new0 (GillTensor *, o->n_hidden);
      o->hidden_data = g_new0 (float *, o->n_hidden);
      for (gint64 k = 0; k < o->n_hidden; k++)
        {
          o->hidden[k] = new_f32 (batch, t, d);
          o->hidden_data[k] = gill_tensor_data_f32 (o->hidden[k]);
        }
    }
  return (GillClipOutput) {
    .last_hidden_state = gill_tensor_data_f32 (o->last),
    .pooler_output = gill_tensor_data_f32 (o->pooled),
    .embeds = o->projected ? gill_tensor_data_f32 (o->projected) : NULL,
    .hidden_states = o->hidden_data,
  };
}

/* after a successful forward: the results under their keys (the projection as embeds_key) and
 * the projection in *embeds; then frees the outputs */
static void
tower_outputs_finish (TowerOutputs     *o,
                      gboolean          ok,
                      GillCheckResults *out,
                      const gchar      *embeds_key,
                      GillTensor      **embeds)
{
  if (ok && out)
    {
      gill_check_results_set_tensor (out, "last_hidden_state", o->last);
      gill_check_results_set_tensor (out, "pooler_output", o->pooled);
      if (o->projected)
        gill_check_results_set_tensor (out, embeds_key, o->projected);
      for (gint64 k = 0; k < o->n_hidden; k++)
        {
          g_autofree gchar *key = g_strdup_printf ("hidden_state_%" G_GINT64_FORMAT, k);
          gill_check_results_set_tensor (out, key, o->hidden[k]);
        }
    }
  if (ok && embeds)
    *embeds = o->projected ? gill_tensor_ref (o->projected) : NULL;
  gill_tensor_unref (o->last);
  gill_tensor_unref (o->pooled);
  g_clear_pointer (&o->projected, gill_tensor_unref);
  for (gint64 k = 0; k < o->n_hidden; k++)
    gill_tensor_unref (o->hidden[k]);
  g_free (o->hidden);
  g_free (o->hidden_data);
}

/* ------------------------------------------------------------------ clip.preprocess */

static gboolean
run_preprocess (const GillCheckCase *c,
                GillCheckResults    *out,
                GError             **error)
{
  g_autofree gchar *file = gill_check_input_string (c, "image_file", error);
  if (file == NULL)
    return FALSE;
  /* the folder's preprocessor_config.json when the manifest names one, else CLIP's defaults */
  GillPreprocessConfig config;
  gill_preprocess_config_clip (&config);
  const gchar *model_folder = gill_check_manifest_string (c, "model_folder");
  if (model_folder)
    {
      g_autofree gchar *folder = gill_check_path (c, model_folder);
      g_autofree gchar *json_path = g_build_filename (folder, "preprocessor_config.json", NULL);
      if (g_file_test (json_path, G_FILE_TEST_EXISTS))
        {
          g_autoptr (JsonParser) parser = json_parser_new ();
          if (!json_parser_load_from_mapped_file (parser, json_path, error))
            return FALSE;
          JsonNode *root = json_parser_get_root (parser);
          if (!JSON_NODE_HOLDS_OBJECT (root))
            {
              g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: not a JSON object", json_path);
              return FALSE;
            }
          if (!gill_preprocess_config_from_json (json_node_get_object (root), &config, error))
            return FALSE;
        }
    }
  g_autofree gchar *path = gill_check_path (c, file);
  g_autoptr (GillImage) image = gill_image_load_rgb (path, error);
  if (image == NULL)
    return FALSE;
  g_autoptr (GillTensor) pixel_values = gill_preprocess_image (&config, image, error);
  if (pixel_values == NULL)
    return FALSE;
  gill_check_results_set_tensor (out, "pixel_values", pixel_values);
  return TRUE;
}

/* ------------------------------------------------------------------ clip.vision */

/* the vision tower on pixel_values: pooled [B, D] and embeds [B, P] into the given tensors
 * (either NULL), everything else into out when out is not NULL */
static gboolean
vision_forward (const GillCheckCase *c,
                GillClipModel       *model,
                GillTensor          *pixel_values,
                GillCheckResults    *out,
                GillTensor         **embeds,
                GError             **error)
{
  const GillClipVisionConfig *config = &model->vision_config;
  gint64 s = config->image_size, grid = s / config->patch_size, t = grid * grid + 1;
  gint64 batch = pixel_values->shape[0];
  gint64 want[4] = { batch, config->num_channels, s, s };
  if (!gill_tensor_has_shape (pixel_values, 4, want))
    {
      g_autofree gchar *got = gill_tensor_shape_string (pixel_values);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE, "case '%s': pixel_values is %s; the model takes [B, %"
                   G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]", c->name, got,
                   config->num_channels, s, s);
      return FALSE;
    }
  g_autoptr (GillClipState) state = gill_clip_state_new_vision (config, batch, error);
  if (state == NULL)
    return FALSE;
  TowerOutputs outputs;
  GillClipOutput o = tower_outputs_init (&outputs, &config->encoder, batch, t,
                                         model->vision->visual_projection ? config->projection_dim : 0, out != NULL);
  gboolean ok = gill_clip_vision_forward (model->vision, state, gill_tensor_data_f32 (pixel_values), batch, &o, error);
  tower_outputs_finish (&outputs, ok, out, "image_embeds", embeds);
  return ok;
}

static gboolean
run_vision (const GillCheckCase *c,
            GillCheckResults    *out,
            GError             **error)
{
  g_autoptr (GillTensor) pixel_values = input_tensor (c, "pixel_values", 4, FALSE, error);
  if (pixel_values == NULL)
    return FALSE;
  g_autoptr (GillClipModel) model = clip_case_model (c, GILL_CLIP_TOWER_VISION, error);
  return model && vision_forward (c, model, pixel_values, out, NULL, error);
}

/* ------------------------------------------------------------------ clip.text */

static gboolean
text_forward (const GillCheckCase *c,
              GillClipModel       *model,
              GillTensor          *input_ids,
              GillCheckResults    *out,
              GillTensor         **embeds,
              GError             **error)
{
  const GillClipTextConfig *config = &model->text_config;
  gint64 batch = input_ids->shape[0], t = input_ids->shape[1];
  g_autoptr (GillClipState) state = gill_clip_state_new_text (config, batch, error);
  if (state == NULL)
    return FALSE;
  TowerOutputs outputs;
  GillClipOutput o = tower_outputs_init (&outputs, &config->encoder, batch, t,
                                         model->text->text_projection ? config->projection_dim : 0, out != NULL);
  gboolean ok = gill_clip_text_forward (model->text, state, gill_tensor_data_i64 (input_ids), batch, t, &o, error);
  if (!ok)
    g_prefix_error (error, "case '%s': ", c->name);
  tower_outputs_finish (&outputs, ok, out, "text_embeds", embeds);
  return ok;
}

static gboolean
run_text (const GillCheckCase *c,
          GillCheckResults    *out,
          GError             **error)
{
  g_autoptr (GillTensor) input_ids = input_tensor (c, "input_ids", 2, TRUE, error);
  if (input_ids == NULL)
    return FALSE;
  g_autoptr (GillClipModel) model = clip_case_model (c, GILL_CLIP_TOWER_TEXT, error);
  return model && text_forward (c, model, input_ids, out, NULL, error);
}

/* ------------------------------------------------------------------ clip.similarity */

static gboolean
run_similarity (const GillCheckCase *c,
                GillCheckResults    *out,
                GError             **error)
{
  g_autoptr (GillTensor) input_ids = input_tensor (c, "input_ids", 2, TRUE, error);
  g_autoptr (GillTensor) pixel_values = input_ids ? input_tensor (c, "pixel_values", 4, FALSE, error) : NULL;
  if (pixel_values == NULL)
    return FALSE;
  g_autoptr (GillClipModel) model = clip_case_model (c, GILL_CLIP_TOWER_VISION | GILL_CLIP_TOWER_TEXT, error);
  if (model == NULL)
    return FALSE;
  if (!model->has_logit_scale || !model->vision->visual_projection || !model->text->text_projection)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "%s: logit_scale, visual_projection or text_projection is missing; similarity needs a CLIPModel",
                   model->path);
      return FALSE;
    }
  g_autoptr (GillTensor) image_embeds = NULL;
  g_autoptr (GillTensor) text_embeds = NULL;
  if (!vision_forward (c, model, pixel_values, NULL, &image_embeds, error)
      || !text_forward (c, model, input_ids, NULL, &text_embeds, error))
    return FALSE;
  gint64 n_images = image_embeds->shape[0], n_texts = text_embeds->shape[0];
  g_autoptr (GillTensor) logits = new_f32 (n_images, n_texts, 0);
  gill_clip_similarity (gill_tensor_data_f32 (image_embeds), n_images, gill_tensor_data_f32 (text_embeds), n_texts,
                        model->vision_config.projection_dim, model->logit_scale, gill_tensor_data_f32 (logits));
  gill_check_results_set_tensor (out, "logits_per_image", logits);
  return TRUE;
}

const GillCheckKind gill_check_kinds_clip[] = {
  { "clip.preprocess", run_preprocess, NULL },
  { "clip.vision", run_vision, clip_layouts },
  { "clip.text", run_text, clip_layouts },
  { "clip.similarity", run_similarity, clip_layouts },
  { NULL },
};
