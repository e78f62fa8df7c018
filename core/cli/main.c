/* main.c — the `gill` program: a table of sub-commands. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "core/cli/check.h"
#include "core/cli/cli.h"
#include "core/cli/embed-image.h"
#include "core/cli/generate.h"
#include "core/cli/tokenize.h"

typedef struct
{
  const gchar *name;
  int (*run) (int argc, char **argv);
  const gchar *summary;
} Command;

static const Command commands[] = {
  { "info", gill_cmd_info, "list the tensors of a weight file or model folder" },
  { "check", gill_cmd_check, "run golden fixture cases and compare with their tolerances" },
  { "bench", gill_cmd_bench, "measure speed and memory (load, ...)" },
  { "tokenize", gill_cmd_tokenize, "tokenize text with the OPT or CLIP tokenizer, or decode ids" },
  { "embed-image", gill_cmd_embed_image, "print CLIP image embeddings of PNG/JPEG files (retrieval debugging)" },
  { "generate", gill_cmd_generate, "draw an image from a text prompt with Stable Diffusion (PNG)" },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: gill COMMAND [OPTION...]\n\nGILL (multimodal LLM: retrieve or generate images) on the CPU.\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun 'gill COMMAND --help' for the options of a command.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc < 2)
    {
      print_usage (stderr);
      return GILL_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return GILL_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("gill %s\n", GILL_VERSION);
      return GILL_EXIT_OK;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "gill: unknown command '%s'; run 'gill --help' for the list\n", argv[1]);
  return GILL_EXIT_USAGE;
}
