/* preprocess.c — CLIPImageProcessor.preprocess (transformers 4.30.2): convert_rgb, resize
 * (get_resize_output_image_size with default_to_square=False, PIL resize), center_crop,
 * rescale, normalize, HWC -> CHW. See preprocess.h for each step's exact arithmetic. */
#include "core/image/preprocess.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"

void
gill_preprocess_config_clip (GillPreprocessConfig *config)
{
  static const float mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
  static const float std[3] = { 0.26862954f, 0.26130258f, 0.27577711f };
  memset (config, 0, sizeof *config);
  config->do_convert_rgb = TRUE;
  config->do_resize = TRUE;
  config->shortest_edge = 224;
  config->resample = GILL_RESAMPLE_BICUBIC;
  config->do_center_crop = TRUE;
  config->crop_height = 224;
  config->crop_width = 224;
  config->do_rescale = TRUE;
  config->rescale_factor = 1.0 / 255.0;
  config->do_normalize = TRUE;
  memcpy (config->image_mean, mean, sizeof mean);
  memcpy (config->image_std, std, sizeof std);
}

/* ------------------------------------------------------------------ preprocessor_config.json */

static gboolean
json_bad_member (const gchar *member,
                 const gchar *what,
                 GError     **error)
{
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
               "preprocessor_config.json: \"%s\" is not %s; is this a CLIP preprocessor config?", member, what);
  return FALSE;
}

static gboolean
json_is_number (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType t = json_node_get_value_type (node);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

static double
json_number (JsonNode *node)
{
  return json_node_get_value_type (node) == G_TYPE_INT64 ? (double) json_node_get_int (node)
                                                          : json_node_get_double (node);
}

/* an optional boolean member */
static gboolean
json_read_bool (JsonObject  *json,
                const gchar *member,
                gboolean    *out,
                GError     **error)
{
  JsonNode *node = json_object_get_member (json, member);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return json_bad_member (member, "true or false", error);
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* a positive integer member, or within an object member */
static gboolean
json_read_size (JsonNode    *node,
                const gchar *member,
                gint        *out,
                GError     **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || json_node_get_int (node) <= 0 || json_node_get_int (node) > G_MAXINT)
    return json_bad_member (member, "a positive integer", error);
  *out = (gint) json_node_get_int (node);
  return TRUE;
}

/* image_mean / image_std: three numbers, or one number for every channel */
static gboolean
json_read_channels (JsonObject  *json,
                    const gchar *member,
                    float        out[3],
                    GError     **error)
{
  JsonNode *node = json_object_get_member (json, member);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (json_is_number (node))
    {
      out[0] = out[1] = out[2] = (float) json_number (node);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (json_node_get_array (node)) != 3)
    return json_bad_member (member, "a list of 3 numbers (R, G, B)", error);
  JsonArray *a = json_node_get_array (node);
  for (guint i = 0; i < 3; i++)
    {
      if (!json_is_number (json_array_get_element (a, i)))
        return json_bad_member (member, "a list of 3 numbers (R, G, B)", error);
      out[i] = (float) json_number (json_array_get_element (a, i));
    }
  return TRUE;
}

gboolean
gill_preprocess_config_from_json (JsonObject           *json,
                                  GillPreprocessConfig *config,
                                  GError              **error)
{
  g_return_val_if_fail (json != NULL && config != NULL, FALSE);
  if (!json_read_bool (json, "do_convert_rgb", &config->do_convert_rgb, error)
      || !json_read_bool (json, "do_resize", &config->do_resize, error)
      || !json_read_bool (json, "do_center_crop", &config->do_center_crop, error)
      || !json_read_bool (json, "do_rescale", &config->do_rescale, error)
      || !json_read_bool (json, "do_normalize", &config->do_normalize, error))
    return FALSE;

  /* size: 224 (feature-extractor format) or {"shortest_edge": 224} */
  JsonNode *size = json_object_get_member (json, "size");
  if (size && JSON_NODE_HOLDS_OBJECT (size))
    {
      JsonNode *edge = json_object_get_member (json_node_get_object (size), "shortest_edge");
      if (edge == NULL)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                       "preprocessor_config.json: \"size\" has no \"shortest_edge\"; CLIP resizes by the "
                       "shortest edge");
          return FALSE;
        }
      if (!json_read_size (edge, "size.shortest_edge", &config->shortest_edge, error))
        return FALSE;
    }
  else if (size && !JSON_NODE_HOLDS_NULL (size) && !json_read_size (size, "size", &config->shortest_edge, error))
    return FALSE;

  /* crop_size: 224 or {"height": 224, "width": 224} */
  JsonNode *crop = json_object_get_member (json, "crop_size");
  if (crop && JSON_NODE_HOLDS_OBJECT (crop))
    {
      JsonObject *o = json_node_get_object (crop);
      if (!json_read_size (json_object_get_member (o, "height"), "crop_size.height", &config->crop_height, error)
          || !json_read_size (json_object_get_member (o, "width"), "crop_size.width", &config->crop_width, error))
        return FALSE;
    }
  else if (crop && !JSON_NODE_HOLDS_NULL (crop))
    {
      if (!json_read_size (crop, "crop_size", &config->crop_height, error))
        return FALSE;
      config->crop_width = config->crop_height;
    }

  JsonNode *resample = json_object_get_member (json, "resample");
  if (resample && !JSON_NODE_HOLDS_NULL (resample))
    {
      if (!JSON_NODE_HOLDS_VALUE (resample) || json_node_get_value_type (resample) != G_TYPE_INT64)
        return json_bad_member ("resample", "an integer (PIL.Image.Resampling)", error);
      if (!gill_resample_from_pil (json_node_get_int (resample), &config->resample))
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                       "preprocessor_config.json: resample %" G_GINT64_FORMAT " is not supported; use 1 to 5 "
                       "(LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING)", json_node_get_int (resample));
          return FALSE;
        }
    }

  JsonNode *factor = json_object_get_member (json, "rescale_factor");
  if (factor && !JSON_NODE_HOLDS_NULL (factor))
    {
      if (!json_is_number (factor))
        return json_bad_member ("rescale_factor", "a number", error);
      config->rescale_factor = json_number (factor);
    }
  return json_read_channels (json, "image_mean", config->image_mean, error)
         && json_read_channels (json, "image_std", config->image_std, error);
}

/* ------------------------------------------------------------------ steps */

void
gill_preprocess_resize_size (gint  shortest_edge,
                             gint  width,
                             gint  height,
                             gint *out_width,
                             gint *out_height)
{
  /* new_short = S, new_long = int (S * long / short): Python's true division, truncated */
  gint64 s = MIN (width, height), l = MAX (width, height);
  gint new_long = (gint) ((double) ((gint64) shortest_edge * l) / (double) s);
  *out_width = width <= height ? shortest_edge : new_long;
  *out_height = width <= height ? new_long : shortest_edge;
}

void
gill_preprocess_output_size (const GillPreprocessConfig *config,
                             gint                        width,
                             gint                        height,
                             gint                       *out_width,
                             gint                       *out_height)
{
  *out_width = width;
  *out_height = height;
  if (config->do_resize)
    gill_preprocess_resize_size (config->shortest_edge, width, height, out_width, out_height);
  if (config->do_center_crop)
    {
      *out_width = config->crop_width;
      *out_height = config->crop_height;
    }
}

/* Python's floor division and ceil (a / 2) for the crop arithmetic */
static gint
floor_div2 (gint a)
{
  return a >= 0 ? a / 2 : -((-a + 1) / 2);
}

GillImage *
gill_image_center_crop (const GillImage *image,
                        gint             width,
                        gint             height)
{
  g_return_val_if_fail (image != NULL && width > 0 && height > 0, NULL);
  /* the crop window in image coordinates: top = (h - H) // 2, left = (w - W) // 2 */
  gint top = floor_div2 (image->height - height);
  gint left = floor_div2 (image->width - width);
  /* where the image is smaller, HF pads it with zeros first, centred with ceil ((new - old) / 2)
   * above/left; the window moves with it */
  gint pad_top = height > image->height ? (height - image->height + 1) / 2 : 0;
  gint pad_left = width > image->width ? (width - image->width + 1) / 2 : 0;
  top += pad_top;
  left += pad_left;
  GillImage *out = gill_image_new (width, height, image->channels);
  gint c = image->channels;
  for (gint y = 0; y < height; y++)
    {
      /* the padded image's row top + y holds source row top + y - pad_top, if any */
      gint sy = top + y - pad_top;
      if (sy < 0 || sy >= image->height)
        continue;
      for (gint x = 0; x < width; x++)
        {
          gint sx = left + x - pad_left;
          if (sx < 0 || sx >= image->width)
            continue;
          memcpy (out->pixels + ((gsize) y * width + x) * c,
                  image->pixels + ((gsize) sy * image->width + sx) * c, c);
        }
    }
  return out;
}

gboolean
gill_preprocess_image_into (const GillPreprocessConfig *config,
                            const GillImage            *image,
                            float                      *pixel_values,
                            GError                    **error)
{
  g_return_val_if_fail (config != NULL && image != NULL && pixel_values != NULL, FALSE);
  if (!gill_image_check_size (image->width, image->height, "image", error))
    return FALSE;

  /* 1. RGB (convert ("RGB")): CLIP's three channels whatever the flag says */
  g_autoptr (GillImage) rgb = image->channels == 3 ? gill_image_copy (image) : gill_image_convert_rgb (image);

  /* 2. resize: the shortest edge to S, PIL's antialiased filter, uint8 result */
  if (config->do_resize)
    {
      gint w, h;
      gill_preprocess_resize_size (config->shortest_edge, rgb->width, rgb->height, &w, &h);
      GillImage *resized = gill_image_resize (rgb, w, h, config->resample, error);
      if (resized == NULL)
        return FALSE;
      gill_image_free (rgb);
      rgb = resized;
    }

  /* 3. centre crop H x W */
  if (config->do_center_crop)
    {
      GillImage *cropped = gill_image_center_crop (rgb, config->crop_width, config->crop_height);
      gill_image_free (rgb);
      rgb = cropped;
    }

  /* 4-5. x = float32 (u8 x factor in float64); (x - mean) / std in float32; HWC -> CHW */
  gsize plane = (gsize) rgb->width * (gsize) rgb->height;
  for (gint ch = 0; ch < 3; ch++)
    {
      const guint8 *src = rgb->pixels + ch;
      float *dst = pixel_values + ch * plane;
      float mean = config->image_mean[ch], std = config->image_std[ch];
      for (gsize i = 0; i < plane; i++)
        {
          float x = config->do_rescale ? (float) ((double) src[3 * i] * config->rescale_factor) : (float) src[3 * i];
          if (config->do_normalize)
            x = (x - mean) / std; /* two float32 roundings, as numpy does */
          dst[i] = x;
        }
    }
  return TRUE;
}

GillTensor *
gill_preprocess_image (const GillPreprocessConfig *config,
                       const GillImage            *image,
                       GError                    **error)
{
  g_return_val_if_fail (config != NULL && image != NULL, NULL);
  gint w, h;
  gill_preprocess_output_size (config, image->width, image->height, &w, &h);
  gint64 shape[4] = { 1, 3, h, w };
  g_autoptr (GillTensor) t = gill_tensor_new_f32 (4, shape);
  if (!gill_preprocess_image_into (config, image, gill_tensor_data_f32 (t), error))
    return NULL;
  return g_steal_pointer (&t);
}
