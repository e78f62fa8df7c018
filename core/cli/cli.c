/* cli.c — common options, parsing and messages for the sub-commands. */
#include "core/cli/cli.h"

#include <stdio.h>

/* the options every command takes, listed with the command's own in --help */
static void
common_add_entries (GOptionContext *context,
                    GillCliCommon  *common)
{
  const GOptionEntry entries[] = {
    { "models", 0, 0, G_OPTION_ARG_FILENAME, &common->models,
      "GILL model folder (default: $GILL_MODELS, then the configuration file)", "DIR" },
    { "config-file", 0, 0, G_OPTION_ARG_FILENAME, &common->config_file,
      "JSON configuration (default: $GILL_CONFIG, then $XDG_CONFIG_HOME/gill/config.json)", "FILE" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

void
gill_cli_common_finish (GillCliCommon *common)
{
  if (common->models == NULL && g_getenv ("GILL_MODELS"))
    common->models = g_strdup (g_getenv ("GILL_MODELS"));
  if (common->config_file == NULL && g_getenv ("GILL_CONFIG"))
    common->config_file = g_strdup (g_getenv ("GILL_CONFIG"));
  if (common->config_file == NULL)
    common->config_file = g_build_filename (g_get_user_config_dir (), "gill", "config.json", NULL);
}

void
gill_cli_common_clear (GillCliCommon *common)
{
  g_clear_pointer (&common->models, g_free);
  g_clear_pointer (&common->config_file, g_free);
}

gboolean
gill_cli_parse (const gchar        *command,
                const gchar        *parameter_string,
                const gchar        *summary,
                const GOptionEntry *entries,
                GillCliCommon      *common,
                int                *argc,
                char             ***argv)
{
  g_autofree gchar *title = g_strdup_printf ("%s", parameter_string ? parameter_string : "");
  g_autoptr (GOptionContext) context = g_option_context_new (title);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *prgname = g_strdup_printf ("gill %s", command);
  g_set_prgname (prgname);
  g_option_context_set_summary (context, summary);
  if (entries)
    g_option_context_add_main_entries (context, entries, NULL);
  if (common)
    common_add_entries (context, common);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      fprintf (stderr, "gill %s: %s; run 'gill %s --help' for usage\n", command, error->message, command);
      return FALSE;
    }
  if (common)
    gill_cli_common_finish (common);
  return TRUE;
}

void
gill_cli_print_error (const GError *error)
{
  fprintf (stderr, "gill: %s\n", error->message);
}
