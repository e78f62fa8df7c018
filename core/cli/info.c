/* info.c — `gill info PATH...`: what a weight file or model folder holds. */
#include <stdio.h>

#include "core/cli/cli.h"
#include "core/gill.h"

int
gill_cmd_info (int argc, char **argv)
{
  GillCliCommon common = { 0 };
  if (!gill_cli_parse ("info", "PATH...",
                       "Show the format, tensor count, total bytes, config.json highlights and every\n"
                       "tensor (name, dtype, shape; sorted by name) of a weight file or a model folder\n"
                       "(Hugging Face, diffusers, single-file Stable Diffusion, GILL).",
                       NULL, &common, &argc, &argv))
    return GILL_EXIT_USAGE;
  gill_cli_common_clear (&common);
  if (argc < 2)
    {
      fprintf (stderr, "gill info: no PATH given; run 'gill info --help' for usage\n");
      return GILL_EXIT_USAGE;
    }
  int status = GILL_EXIT_OK;
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *text = gill_describe_path (argv[i], &error);
      if (text == NULL)
        {
          gill_cli_print_error (error);
          status = GILL_EXIT_FAILURE;
          continue;
        }
      fputs (text, stdout);
      if (i + 1 < argc)
        fputc ('\n', stdout);
    }
  return status;
}
