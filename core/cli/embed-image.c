/* embed-image.c — `gill embed-image [--clip DIR] FILE...`: what CLIP's vision tower makes of
 * image files, for retrieval debugging.
 *
 * Each FILE goes through Image.open (FILE).convert ("RGB"), CLIPImageProcessor and the vision
 * tower, as GILL does; printed are pooler_output (the post-LayerNorm class token GILL's
 * retrieval and captioning heads read) and image_embeds (after visual_projection, what CLIP
 * compares with text), optionally L2-normalised. The CLIP folder is --clip, else $GILL_CLIP,
 * else the configuration file's "clip" key. Only the public API (core/gill.h: GillClip). */
#include "core/cli/embed-image.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "core/cli/cli.h"
#include "core/gill.h"

static void
normalize (float *v,
           gint64 n)
{
  double sum = 0;
  for (gint64 i = 0; i < n; i++)
    sum += (double) v[i] * v[i];
  double inv = sum > 0 ? 1.0 / sqrt (sum) : 0;
  for (gint64 i = 0; i < n; i++)
    v[i] = (float) (v[i] * inv);
}

static void
print_vector_text (const gchar *name,
                   const float *v,
                   gint64       n)
{
  printf ("  %s [%" G_GINT64_FORMAT "]:", name, n);
  for (gint64 i = 0; i < n; i++)
    printf (" %.7g", v[i]);
  printf ("\n");
}

static void
add_vector_json (JsonBuilder *b,
                 const gchar *name,
                 const float *v,
                 gint64       n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (gint64 i = 0; i < n; i++)
    json_builder_add_double_value (b, v[i]);
  json_builder_end_array (b);
}

int
gill_cmd_embed_image (int argc, char **argv)
{
  g_autofree gchar *clip = NULL;
  g_autofree gchar *output = NULL;
  gboolean json = FALSE, unit = FALSE;
  gint batch = 8;
  GillCliCommon common = { 0 };
  const GOptionEntry entries[] = {
    { "clip", 0, 0, G_OPTION_ARG_FILENAME, &clip,
      "the CLIP folder (openai/clip-vit-large-patch14; default $GILL_CLIP, then \"clip\" in the configuration)", "DIR" },
    { "output", 'o', 0, G_OPTION_ARG_STRING, &output,
      "pooled (pooler_output), projected (image_embeds) or both (default: both, pooled alone without a projection)",
      "WHICH" },
    { "normalize", 'n', 0, G_OPTION_ARG_NONE, &unit, "divide each vector by its L2 norm", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object per file and line (JSON Lines)", NULL },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "images per forward pass (default 8)", "N" },
    { NULL }
  };
  if (!gill_cli_parse ("embed-image", "FILE...",
                       "Print CLIP image embeddings of PNG/JPEG files, preprocessed as GILL does:\n"
                       "pooler_output (the vector GILL's heads read) and image_embeds (CLIP's projection).",
                       entries, &common, &argc, &argv))
    {
      gill_cli_common_clear (&common);
      return GILL_EXIT_USAGE;
    }
  int status = GILL_EXIT_OK;
  g_autoptr (GError) error = NULL;
  gboolean want_pooled = TRUE, want_projected = TRUE;
  if (output && !g_str_equal (output, "both"))
    {
      want_pooled = g_str_equal (output, "pooled");
      want_projected = g_str_equal (output, "projected");
    }
  if (argc < 2 || batch < 1 || batch > 256 || !(want_pooled || want_projected))
    {
      fprintf (stderr, "gill embed-image: %s; run 'gill embed-image --help' for usage\n",
               argc < 2 ? "no image file given" : batch < 1 || batch > 256 ? "--batch must be 1 to 256"
                                                                           : "--output takes pooled, projected or both");
      gill_cli_common_clear (&common);
      return GILL_EXIT_USAGE;
    }

  /* the CLIP folder: --clip, $GILL_CLIP, the configuration's "clip" */
  g_autofree gchar *clip_path = gill_config_find_path (clip, "GILL_CLIP", common.config_file, "clip", &error);
  gill_cli_common_clear (&common);
  if (clip_path == NULL)
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }

  g_autoptr (GillClip) model = gill_clip_open (clip_path, &error);
  if (model == NULL)
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }
  gint64 d = gill_clip_get_pooled_dim (model), p = gill_clip_get_projection_dim (model);
  if (p == 0)
    {
      if (output && want_projected)
        {
          fprintf (stderr, "gill: %s: the checkpoint has no visual_projection; use --output pooled or the full "
                           "CLIPModel folder\n", clip_path);
          return GILL_EXIT_FAILURE;
        }
      want_projected = FALSE;
    }

  /* one image at a time through the batches, so that one bad file names itself and the
   * others still print */
  g_autofree float *pooled = g_new (float, d * batch);
  g_autofree float *embeds = g_new (float, p * batch);
  for (int first = 1; first < argc; first += batch)
    {
      gint count = MIN (batch, argc - first);
      if (!gill_clip_embed_image_files (model, (const gchar *const *) argv + first, count, count, pooled,
                                        want_projected ? embeds : NULL, &error))
        {
          /* retry one by one to report exactly which files fail */
          g_clear_error (&error);
          for (gint i = 0; i < count; i++)
            if (!gill_clip_embed_image_files (model, (const gchar *const *) argv + first + i, 1, 1, pooled + i * d,
                                              want_projected ? embeds + i * p : NULL, &error))
              {
                gill_cli_print_error (error);
                g_clear_error (&error);
                status = GILL_EXIT_FAILURE;
                argv[first + i] = NULL; /* skipped below */
              }
        }
      for (gint i = 0; i < count; i++)
        {
          const gchar *file = argv[first + i];
          if (file == NULL)
            continue;
          if (unit)
            {
              normalize (pooled + i * d, d);
              if (want_projected)
                normalize (embeds + i * p, p);
            }
          if (json)
            {
              g_autoptr (JsonBuilder) b = json_builder_new ();
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "file");
              json_builder_add_string_value (b, file);
              if (want_pooled)
                add_vector_json (b, "pooler_output", pooled + i * d, d);
              if (want_projected)
                add_vector_json (b, "image_embeds", embeds + i * p, p);
              json_builder_end_object (b);
              g_autoptr (JsonNode) root = json_builder_get_root (b);
              g_autofree gchar *text = json_to_string (root, FALSE);
              printf ("%s\n", text);
            }
          else
            {
              printf ("%s\n", file);
              if (want_pooled)
                print_vector_text ("pooler_output", pooled + i * d, d);
              if (want_projected)
                print_vector_text ("image_embeds", embeds + i * p, p);
            }
        }
      fflush (stdout);
    }
  return status;
}
