/* generate.c — `gill generate --prompt TEXT [--negative TEXT] [--seed N] [--steps N]
 * [--guidance F] [--scheduler NAME] [--size WxH] -o out.png`: plain Stable Diffusion, text to
 * image, as StableDiffusionPipeline (diffusers 0.17.1) with a seeded torch CPU generator.
 *
 * The model is --sd (a diffusers folder or a single .safetensors/.ckpt with its LDM yaml), else
 * $GILL_SD, else the configuration file's "sd" key. A single file has no tokenizer: give CLIP's
 * (--tokenizer, $GILL_CLIP_TOKENIZER). Progress goes to stderr; the PNG is written only when the
 * whole run succeeded (to a temporary name first, then renamed), so an error or Ctrl-C leaves
 * nothing behind. Only the public API (core/gill.h: GillStableDiffusion). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

#include "core/cli/cli.h"
#include "core/gill.h"

/* SIGINT asks the run to stop between steps (the callback returns FALSE) */
static volatile sig_atomic_t interrupted = 0;

static void
on_sigint (int signum)
{
  (void) signum;
  interrupted = 1;
}

typedef struct
{
  gboolean quiet;
  gint last_percent;
  const gchar *last_stage;
} Progress;

static gboolean
report_progress (double       fraction,
                 const gchar *stage,
                 gpointer     data)
{
  Progress *p = data;
  gint percent = (gint) (fraction * 100.0);
  if (!p->quiet && (percent != p->last_percent || g_strcmp0 (stage, p->last_stage) != 0))
    {
      fprintf (stderr, "\rgill generate: %-8s %3d %%", stage, percent);
      fflush (stderr);
      p->last_percent = percent;
      p->last_stage = stage;
    }
  return !interrupted;
}

/* "WxH" -> width, height (positive) */
static gboolean
parse_size (const gchar *text,
            gint64      *width,
            gint64      *height)
{
  gchar *end = NULL;
  *width = g_ascii_strtoll (text, &end, 10);
  if (end == text || (*end != 'x' && *end != 'X'))
    return FALSE;
  const gchar *h = end + 1;
  *height = g_ascii_strtoll (h, &end, 10);
  return end != h && *end == '\0' && *width > 0 && *height > 0;
}

/* 0666 less the process umask, as open (O_CREAT) would give */
static mode_t
new_file_mode (void)
{
  mode_t mask = umask (0);
  umask (mask);
  return 0666 & ~mask;
}

/* image [h, w, 3] in [0, 1] → PNG at path, written whole or not at all */
static gboolean
write_png (const gchar *path,
           const float *image,
           gint64       width,
           gint64       height,
           GError     **error)
{
  g_autofree guint8 *rgb = g_new (guint8, width * height * 3);
  gill_stable_diffusion_image_to_rgb8 (image, width * height * 3, rgb);
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_data (rgb, GDK_COLORSPACE_RGB, FALSE, 8, (int) width,
                                                           (int) height, (int) width * 3, NULL, NULL);
  g_autofree gchar *tmp = g_strconcat (path, ".XXXXXX", NULL);
  int fd = g_mkstemp (tmp);
  if (fd < 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: cannot create: %s", path, g_strerror (errno));
      return FALSE;
    }
  /* mkstemp makes the file 0600; the picture gets the mode any new file of the user's would */
  if (fchmod (fd, new_file_mode ()) != 0 || close (fd) != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: cannot create: %s", path, g_strerror (errno));
      g_unlink (tmp);
      return FALSE;
    }
  GError *local = NULL;
  if (!gdk_pixbuf_save (pixbuf, tmp, "png", &local, NULL) || g_rename (tmp, path) != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: cannot write: %s", path,
                   local ? local->message : g_strerror (errno));
      g_clear_error (&local);
      g_unlink (tmp);
      return FALSE;
    }
  return TRUE;
}

int
gill_cmd_generate (int argc, char **argv)
{
  g_autofree gchar *prompt = NULL, *negative = NULL, *scheduler = NULL, *size = NULL, *output = NULL;
  g_autofree gchar *sd = NULL, *tokenizer = NULL, *variant = NULL;
  gint64 seed = 0;
  gint steps = 50;
  gdouble guidance = 7.5;
  gboolean ema = FALSE, quiet = FALSE;
  GillCliCommon common = { 0 };
  const GOptionEntry entries[] = {
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "what to draw", "TEXT" },
    { "negative", 'n', 0, G_OPTION_ARG_STRING, &negative, "what to steer away from (default: empty)", "TEXT" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "torch.Generator seed for the initial noise (default 0)", "N" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "inference steps (default 50)", "N" },
    { "guidance", 'g', 0, G_OPTION_ARG_DOUBLE, &guidance, "classifier-free guidance scale (default 7.5)", "F" },
    { "scheduler", 0, 0, G_OPTION_ARG_STRING, &scheduler,
      "pndm, ddim, euler, euler-a or dpmpp-2m (default: the model's, PNDM for SD 1.5)", "NAME" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "image size, multiples of 8 (default 512x512)", "WxH" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "the PNG to write", "FILE" },
    { "sd", 0, 0, G_OPTION_ARG_FILENAME, &sd,
      "Stable Diffusion: a diffusers folder or a single .safetensors/.ckpt (default: $GILL_SD, then \"sd\" in the "
      "configuration)", "PATH" },
    { "tokenizer", 0, 0, G_OPTION_ARG_FILENAME, &tokenizer,
      "CLIP tokenizer folder (default: the model's tokenizer/, then $GILL_CLIP_TOKENIZER)", "DIR" },
    { "ema", 0, 0, G_OPTION_ARG_NONE, &ema, "full single-file checkpoints: use the EMA UNet (model_ema.*)", NULL },
    { "variant", 0, 0, G_OPTION_ARG_STRING, &variant, "diffusers folders: prefer the *.VARIANT.* files (fp16)",
      "NAME" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress on stderr", NULL },
    { NULL }
  };
  if (!gill_cli_parse ("generate", "",
                       "Draw an image from a text prompt with Stable Diffusion (512×512, 50 PNDM steps, guidance 7.5\n"
                       "by default) and save it as PNG.",
                       entries, &common, &argc, &argv))
    {
      gill_cli_common_clear (&common);
      return GILL_EXIT_USAGE;
    }
  gint64 width = 0, height = 0;
  const gchar *usage = prompt == NULL                           ? "--prompt is required"
                       : output == NULL                         ? "-o FILE is required"
                       : argc > 1                               ? "unexpected arguments"
                       : steps < 1 || steps > 1000              ? "--steps must be 1 to 1000"
                       : size && !parse_size (size, &width, &height) ? "--size takes WxH, e.g. 512x512"
                                                                 : NULL;
  if (usage)
    {
      fprintf (stderr, "gill generate: %s; run 'gill generate --help' for usage\n", usage);
      gill_cli_common_clear (&common);
      return GILL_EXIT_USAGE;
    }

  /* the model: --sd, $GILL_SD, the configuration's "sd" */
  g_autoptr (GError) error = NULL;
  g_autofree gchar *sd_path = gill_config_find_path (sd, "GILL_SD", common.config_file, "sd", &error);
  gill_cli_common_clear (&common);
  if (sd_path == NULL)
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }

  g_autoptr (GillStableDiffusion) model = gill_stable_diffusion_open (sd_path, ema, variant, &error);
  if (model == NULL)
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }
  Progress progress = { quiet, -1, NULL };
  GillStableDiffusionParams params;
  gill_stable_diffusion_params_default (&params);
  params.scheduler = scheduler;
  params.n_steps = steps;
  params.guidance_scale = (float) guidance;
  params.height = height;
  params.width = width;
  params.seed = (guint64) seed;
  params.negative_prompt = negative ? negative : "";
  params.tokenizer_dir = tokenizer;
  params.progress = report_progress;
  params.progress_data = &progress;
  gill_stable_diffusion_get_image_size (model, &params, &height, &width);

  g_autofree float *image = g_try_new (float, height * width * 3);
  if (image == NULL)
    {
      fprintf (stderr, "gill: cannot allocate a %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " image\n", width, height);
      return GILL_EXIT_FAILURE;
    }
  void (*previous) (int) = signal (SIGINT, on_sigint);
  gboolean ok = gill_stable_diffusion_generate_from_text (model, &params, prompt, image, &error);
  signal (SIGINT, previous);
  if (!quiet && progress.last_percent >= 0)
    fputc ('\n', stderr);
  if (!ok || !write_png (output, image, width, height, &error))
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }
  if (!quiet)
    fprintf (stderr, "gill generate: wrote %s (%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT ")\n", output, width, height);
  return GILL_EXIT_OK;
}
