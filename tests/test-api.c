/* test-api.c — the public API (core/gill.h) as the CLI and the GIMP plug-in use it: CLIP image
 * embeddings against tiny-clip's goldens, Stable Diffusion on tiny-sd (size, range, seeds,
 * prompt embeddings, cancel) and the errors a caller sees. Only core/gill.h from libgill; the
 * goldens are read straight from their safetensors file. Fixtures: $GILL_FIXTURES. */
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "core/gill.h"
#include "fixture.h"

/* ------------------------------------------------------------------ helpers */

/* an F32 tensor of a safetensors file, read without libgill: u64 header length, JSON header,
 * data; (transfer full), *n its element count */
static float *
golden_f32 (const gchar *file,
            const gchar *name,
            gsize       *n)
{
  g_autofree gchar *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (file, &bytes, &len, NULL));
  g_assert_cmpuint (len, >=, 8);
  guint64 header_len;
  memcpy (&header_len, bytes, 8);
  header_len = GUINT64_FROM_LE (header_len);
  g_assert_cmpuint (header_len, <=, len - 8);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, bytes + 8, (gssize) header_len, NULL));
  JsonObject *entry = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), name);
  g_assert_nonnull (entry);
  g_assert_cmpstr (json_object_get_string_member (entry, "dtype"), ==, "F32");
  JsonArray *offsets = json_object_get_array_member (entry, "data_offsets");
  gsize begin = (gsize) json_array_get_int_element (offsets, 0), end = (gsize) json_array_get_int_element (offsets, 1);
  g_assert_cmpuint (end, <=, len - 8 - header_len);
  *n = (end - begin) / sizeof (float);
  float *values = g_new (float, *n);
  memcpy (values, bytes + 8 + header_len + begin, end - begin);
  return values;
}

static void
assert_close (const float *got,
              const float *want,
              gsize        n,
              double       tolerance,
              const gchar *what)
{
  for (gsize i = 0; i < n; i++)
    if (!(fabs (got[i] - want[i]) <= tolerance * (1 + fabs (want[i]))))
      g_error ("%s: element %" G_GSIZE_FORMAT ": %.7g, expected %.7g", what, i, got[i], want[i]);
}

/* every value in [0, 1], and not all the same (a picture, not a blank) */
static void
assert_image (const float *image,
              gsize        n)
{
  float lo = image[0], hi = image[0];
  for (gsize i = 0; i < n; i++)
    {
      g_assert_true (image[i] >= 0.0f && image[i] <= 1.0f);
      lo = MIN (lo, image[i]);
      hi = MAX (hi, image[i]);
    }
  g_assert_cmpfloat (hi - lo, >, 0.01f);
}

/* tiny-sd's diffusers folder opened, params at 64×48, 3 steps, seed 7 */
static GillStableDiffusion *
open_tiny_sd (GillStableDiffusionParams *params)
{
  g_autofree gchar *folder = fixture ("tiny-sd/diffusers");
  if (folder == NULL)
    return NULL;
  g_autoptr (GError) error = NULL;
  GillStableDiffusion *sd = gill_stable_diffusion_open (folder, FALSE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sd);
  gill_stable_diffusion_params_default (params);
  params->width = 64;
  params->height = 48;
  params->n_steps = 3;
  params->seed = 7;
  params->negative_prompt = "blurry";
  return sd;
}

#define TINY_N (48 * 64 * 3)
#define TINY_N_CTX 77

/* one generation that has to succeed and give a picture: from @prompt, else from @embeds
 * [TINY_N_CTX, embedding_dim] */
static void
assert_generates (GillStableDiffusion             *sd,
                  const GillStableDiffusionParams *params,
                  const gchar                     *prompt,
                  const float                     *embeds,
                  float                           *image)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = prompt ? gill_stable_diffusion_generate_from_text (sd, params, prompt, image, &error)
                       : gill_stable_diffusion_generate_from_embeddings (sd, params, embeds, TINY_N_CTX, image, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  assert_image (image, TINY_N);
}

/* ------------------------------------------------------------------ CLIP */

/* three files in batches of 2 give CLIP's pooler_output and image_embeds of the goldens */
static void
test_clip_embed (void)
{
  g_autofree gchar *folder = fixture ("tiny-clip/model");
  if (folder == NULL)
    return;
  g_autofree gchar *golden = fixture ("tiny-clip/golden.safetensors");
  g_autofree gchar *a = fixture ("tiny-clip/images/landscape_rgb.png");
  g_autofree gchar *b = fixture ("tiny-clip/images/portrait_rgba.png");
  g_autofree gchar *c = fixture ("tiny-clip/images/small_noise_rgb.png");
  const gchar *files[] = { a, b, c };
  g_autoptr (GError) error = NULL;
  g_autoptr (GillClip) clip = gill_clip_open (folder, &error);
  g_assert_no_error (error);
  g_assert_nonnull (clip);
  g_assert_cmpint (gill_clip_get_pooled_dim (clip), ==, 32);
  g_assert_cmpint (gill_clip_get_projection_dim (clip), ==, 16);

  gsize n_pooled, n_embeds;
  g_autofree float *want_pooled = golden_f32 (golden, "vision/batch.pooler_output", &n_pooled);
  g_autofree float *want_embeds = golden_f32 (golden, "vision/batch.image_embeds", &n_embeds);
  g_assert_cmpuint (n_pooled, ==, 3 * 32);
  g_assert_cmpuint (n_embeds, ==, 3 * 16);
  float pooled[3 * 32], embeds[3 * 16];
  g_assert_true (gill_clip_embed_image_files (clip, files, 3, 2, pooled, embeds, &error));
  g_assert_no_error (error);
  assert_close (pooled, want_pooled, n_pooled, 1e-4, "pooler_output");
  assert_close (embeds, want_embeds, n_embeds, 1e-4, "image_embeds");

  /* one file alone, pooled only: the same vector as in the batch */
  float one[32];
  g_assert_true (gill_clip_embed_image_files (clip, files + 1, 1, 1, one, NULL, &error));
  g_assert_no_error (error);
  assert_close (one, want_pooled + 32, 32, 1e-4, "pooler_output of the second file alone");
}

/* a missing folder and a missing image are errors that name them */
static void
test_clip_errors (void)
{
  g_autofree gchar *folder = fixture ("tiny-clip/model");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_assert_null (gill_clip_open ("/nonexistent/clip-folder", &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_assert_nonnull (strstr (error->message, "/nonexistent/clip-folder"));
  g_clear_error (&error);

  g_autoptr (GillClip) clip = gill_clip_open (folder, &error);
  g_assert_no_error (error);
  const gchar *files[] = { "/nonexistent/picture.png" };
  float pooled[32];
  g_assert_false (gill_clip_embed_image_files (clip, files, 1, 1, pooled, NULL, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/picture.png"));
}

/* ------------------------------------------------------------------ Stable Diffusion */

/* the size query: the params' size, else the model's (UNet sample_size × 8) */
static void
test_sd_image_size (void)
{
  GillStableDiffusionParams params;
  g_autoptr (GillStableDiffusion) sd = open_tiny_sd (&params);
  if (sd == NULL)
    return;
  gint64 height = 0, width = 0;
  gill_stable_diffusion_get_image_size (sd, &params, &height, &width);
  g_assert_cmpint (height, ==, 48);
  g_assert_cmpint (width, ==, 64);
  params.height = params.width = 0;
  gill_stable_diffusion_get_image_size (sd, &params, &height, &width);
  g_assert_cmpint (height, ==, 128);
  g_assert_cmpint (width, ==, 128);
  g_assert_cmpint (gill_stable_diffusion_get_embedding_dim (sd), ==, 32);
}

/* text to image: values in [0, 1]; the same seed gives the same image, another seed another */
static void
test_sd_from_text (void)
{
  GillStableDiffusionParams params;
  g_autoptr (GillStableDiffusion) sd = open_tiny_sd (&params);
  if (sd == NULL)
    return;
  g_autofree float *a = g_new (float, TINY_N);
  g_autofree float *b = g_new (float, TINY_N);
  g_autofree float *c = g_new (float, TINY_N);
  params.scheduler = "euler-a";
  assert_generates (sd, &params, "a red bicycle", NULL, a);
  assert_generates (sd, &params, "a red bicycle", NULL, b);
  g_assert_cmpmem (a, sizeof (float) * TINY_N, b, sizeof (float) * TINY_N);
  params.seed = 8;
  assert_generates (sd, &params, "a red bicycle", NULL, c);
  g_assert_true (memcmp (a, c, sizeof (float) * TINY_N) != 0);
}

/* prompt embeddings [n_ctx, 32] in place of the text: deterministic, and they steer the picture */
static void
test_sd_from_embeddings (void)
{
  GillStableDiffusionParams params;
  g_autoptr (GillStableDiffusion) sd = open_tiny_sd (&params);
  if (sd == NULL)
    return;
  const gint64 n = TINY_N_CTX * gill_stable_diffusion_get_embedding_dim (sd);
  g_autofree float *cond = g_new (float, n);
  g_autofree float *other = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    {
      cond[i] = (float) sin (0.37 * (double) i);
      other[i] = (float) cos (0.91 * (double) i);
    }
  g_autofree float *a = g_new (float, TINY_N);
  g_autofree float *b = g_new (float, TINY_N);
  g_autofree float *c = g_new (float, TINY_N);
  params.scheduler = "ddim";
  assert_generates (sd, &params, NULL, cond, a);
  assert_generates (sd, &params, NULL, cond, b);
  g_assert_cmpmem (a, sizeof (float) * TINY_N, b, sizeof (float) * TINY_N);
  assert_generates (sd, &params, NULL, other, c);
  g_assert_true (memcmp (a, c, sizeof (float) * TINY_N) != 0);

  /* without guidance the negative prompt is not encoded; still a picture, another one */
  params.guidance_scale = 1.0f;
  assert_generates (sd, &params, NULL, cond, c);
  g_assert_true (memcmp (a, c, sizeof (float) * TINY_N) != 0);
}

typedef struct
{
  gint calls;
  gint stop_at;        /* the call that returns FALSE; 0 = never */
  double last_fraction;
  gboolean saw_denoise;
} CancelState;

static gboolean
cancel_at (double       fraction,
           const gchar *stage,
           gpointer     data)
{
  CancelState *c = data;
  c->calls++;
  g_assert_cmpfloat (fraction, >=, c->last_fraction);
  g_assert_cmpfloat (fraction, <=, 1.0);
  c->last_fraction = fraction;
  c->saw_denoise |= g_strcmp0 (stage, "denoise") == 0;
  return c->calls != c->stop_at;
}

/* progress climbs to 1; FALSE from the callback stops the run at once with CANCELLED and the
 * image untouched */
static void
test_sd_cancel (void)
{
  GillStableDiffusionParams params;
  g_autoptr (GillStableDiffusion) sd = open_tiny_sd (&params);
  if (sd == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree float *image = g_new (float, TINY_N);
  CancelState full = { 0, 0, 0.0, FALSE };
  params.progress = cancel_at;
  params.progress_data = &full;
  assert_generates (sd, &params, "a red bicycle", NULL, image);
  g_assert_cmpint (full.calls, >=, 3);
  g_assert_true (full.saw_denoise);
  g_assert_cmpfloat (full.last_fraction, ==, 1.0);

  for (gint stop = 1; stop <= 2; stop++)
    {
      CancelState c = { 0, stop, 0.0, FALSE };
      params.progress_data = &c;
      for (gsize i = 0; i < TINY_N; i++)
        image[i] = -1.0f;
      g_assert_false (gill_stable_diffusion_generate_from_text (sd, &params, "a red bicycle", image, &error));
      g_assert_error (error, GILL_ERROR, GILL_ERROR_CANCELLED);
      g_clear_error (&error);
      g_assert_cmpint (c.calls, ==, stop);   /* stopped promptly */
      for (gsize i = 0; i < TINY_N; i++)
        g_assert_cmpfloat (image[i], ==, -1.0f);
    }
}

/* bad input fails before any weights are read, with the code and a message naming the cause */
static void
test_sd_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *folder = fixture ("tiny-sd/diffusers");
  if (folder == NULL)
    return;
  g_assert_null (gill_stable_diffusion_open ("/nonexistent/sd-folder", FALSE, NULL, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_assert_nonnull (strstr (error->message, "/nonexistent/sd-folder"));
  g_clear_error (&error);

  GillStableDiffusionParams params;
  g_autoptr (GillStableDiffusion) sd = open_tiny_sd (&params);
  g_autofree float *image = g_new (float, 128 * 128 * 3);
  CancelState never = { 0, 0, 0.0, FALSE };
  params.progress = cancel_at;
  params.progress_data = &never;

  params.width = 60;   /* not a multiple of the VAE's 8 */
  g_assert_false (gill_stable_diffusion_generate_from_text (sd, &params, "a red bicycle", image, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "60×48"));
  g_clear_error (&error);
  params.width = 64;

  params.scheduler = "karras-ve";
  g_assert_false (gill_stable_diffusion_generate_from_text (sd, &params, "a red bicycle", image, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "karras-ve"));
  g_clear_error (&error);
  g_assert_false (gill_stable_diffusion_generate_from_embeddings (sd, &params, image, TINY_N_CTX, image, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  params.scheduler = NULL;

  params.n_steps = 0;
  g_assert_false (gill_stable_diffusion_generate_from_text (sd, &params, "a red bicycle", image, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  params.n_steps = 3;

  g_assert_false (gill_stable_diffusion_generate_from_text (sd, &params, "bad \xff UTF-8", image, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* the size, scheduler and step checks came before the text encoder ran */
  g_assert_cmpint (never.calls, ==, 0);
}

/* bytes as numpy_to_pil makes them: round half to even, clamped */
static void
test_image_to_rgb8 (void)
{
  const float image[] = { 0.0f, 0.5f, 1.0f, -0.2f, 1.3f, 0.002f, 0.998f };
  const guint8 want[] = { 0, 128, 255, 0, 255, 1, 254 };
  guint8 rgb[G_N_ELEMENTS (image)];
  gill_stable_diffusion_image_to_rgb8 (image, G_N_ELEMENTS (image), rgb);
  g_assert_cmpmem (rgb, sizeof rgb, want, sizeof want);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/api/clip-embed", test_clip_embed);
  g_test_add_func ("/api/clip-errors", test_clip_errors);
  g_test_add_func ("/api/sd-image-size", test_sd_image_size);
  g_test_add_func ("/api/sd-from-text", test_sd_from_text);
  g_test_add_func ("/api/sd-from-embeddings", test_sd_from_embeddings);
  g_test_add_func ("/api/sd-cancel", test_sd_cancel);
  g_test_add_func ("/api/sd-errors", test_sd_errors);
  g_test_add_func ("/api/image-to-rgb8", test_image_to_rgb8);
  return g_test_run ();
}
